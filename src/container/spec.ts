// The OCI runtime spec (config.json) of a container freezedry runs: the defaults a `runc spec`
// bundle has (namespaces, the standard mounts, masked and read-only paths, a small capability
// set), detached (no terminal), with rlimits no higher than this host lets us set.

export interface SpecInput {
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  hostname: string;
  /** A network namespace of its own (loopback only); otherwise it shares the host's. */
  net: boolean;
  /** The hard RLIMIT_NOFILE this process has: the container's may not exceed it. */
  nofileLimit: number;
}

export type OciSpec = Record<string, unknown> & { root: { path: string; readonly: boolean }; process: Record<string, unknown> & { args: string[] } };

const CAPABILITIES = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function containerSpec(input: SpecInput): OciSpec {
  const env = { PATH: DEFAULT_PATH, ...input.env };
  const nofile = Math.min(1024, input.nofileLimit);
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: input.args,
      env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
      cwd: input.cwd ?? '/',
      capabilities: Object.fromEntries(['bounding', 'effective', 'permitted', 'ambient'].map((set) => [set, CAPABILITIES])),
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: nofile, soft: nofile }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: input.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: ['pid', 'ipc', 'uts', 'mount', ...(input.net ? ['network'] : [])].map((type) => ({ type })),
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** The spec's network namespace: none (the host's), one runc makes (no path), or one it joins (a path). */
export function networkNamespaceOf(spec: OciSpec): { type: string; path?: string } | undefined {
  return ((spec.linux as { namespaces?: { type: string; path?: string }[] } | undefined)?.namespaces ?? []).find((ns) => ns.type === 'network');
}
