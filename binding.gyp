{
  'targets': [{
    'target_name': 'freezedry',
    'conditions': [
      ['OS=="linux"', {
        # Every .cc of the core and the addon: the same files CMakeLists.txt globs, listed nowhere.
        'sources': ['<!@(ls -1 native/core/*.cc native/addon/*.cc)'],
        'include_dirs': ['native'],
        # _all: a C++ exception a sync call lets out (std::bad_alloc) becomes a JS error, not an abort.
        'dependencies': ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except_all"],
        'defines': ['NAPI_VERSION=8', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
        'cflags_cc!': ['-std=gnu++17', '-fno-exceptions'],
        'cflags_cc': ['-std=c++20', '-fvisibility=hidden', '-Wall', '-Wextra'],
        'ldflags': ['-Wl,--exclude-libs,ALL'],
        # Linked in, so a prebuilt addon needs no libzstd or libxxhash on the machine it lands on.
        'libraries': ['-Wl,-Bstatic', '-lzstd', '-lxxhash', '-Wl,-Bdynamic'],
      }, {
        'type': 'none',
      }],
    ],
  }, {
    # The init of the namespace a snapshot's copy is restored into (src/snapshot/instance.ts).
    'target_name': 'freezedry-init',
    'type': 'executable',
    'conditions': [
      ['OS=="linux"', {
        'sources': ['native/tools/instance_init.cc'],
        'cflags_cc!': ['-std=gnu++17', '-fno-exceptions'],
        'cflags_cc': ['-std=c++20', '-Wall', '-Wextra'],
        # Static: the prebuilt one runs whatever the libc of the machine it lands on.
        'ldflags': ['-static'],
      }],
    ],
  }],
}