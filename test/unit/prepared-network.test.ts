import { describe, expect, it } from 'vitest';
import { checkedNetworkFacts } from '../../src/migrate/prepared-network.js';

// What a source announces of its tree's namespace is built at the destination with `ip`: only
// the forms describeNetwork() makes pass.
describe('checkedNetworkFacts', () => {
  const veth = { name: 'eth0', mac: '7a:1b:00:c4:9e:02', mtu: 1500, addresses: ['198.19.4.10/24', 'fd00::10/64'], bridge: 'br0' };
  const route = { dst: 'default', gateway: '198.19.4.1', dev: 'eth0' };

  it('takes what describeNetwork() makes, and only its fields (the bridge is the destination’s own)', () => {
    expect(checkedNetworkFacts({ veths: [veth], routes: [route, { dst: '10.0.0.0/8', dev: 'eth0' }], extra: 1 })).toEqual({
      veths: [{ name: 'eth0', mac: veth.mac, mtu: 1500, addresses: veth.addresses }],
      routes: [route, { dst: '10.0.0.0/8', gateway: undefined, dev: 'eth0' }],
    });
  });

  it.each([
    ['nothing', undefined],
    ['no veth', { veths: [], routes: [] }],
    ['a name ip would take for an option', { veths: [{ ...veth, name: '-all' }], routes: [] }],
    ['a name too long for a link', { veths: [{ ...veth, name: 'a'.repeat(16) }], routes: [] }],
    ['a MAC with more after it', { veths: [{ ...veth, mac: `${veth.mac} up` }], routes: [] }],
    ['an MTU below IPv4 minimum', { veths: [{ ...veth, mtu: 10 }], routes: [] }],
    ['an MTU that is no integer', { veths: [{ ...veth, mtu: '1500' }], routes: [] }],
    ['an address with no prefix', { veths: [{ ...veth, addresses: ['198.19.4.10'] }], routes: [] }],
    ['a route through a device named oddly', { veths: [veth], routes: [{ ...route, dev: 'eth0 proto' }] }],
    ['a gateway that is no address', { veths: [veth], routes: [{ ...route, gateway: 'x;y' }] }],
    ['too many veths', { veths: Array(17).fill(veth), routes: [] }],
    ['routes that are not a list', { veths: [veth], routes: {} }],
  ])('refuses %s', (_what, announced) => {
    expect(checkedNetworkFacts(announced)).toBeUndefined();
  });
});
