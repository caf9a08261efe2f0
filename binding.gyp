{
  'targets': [{
    'target_name': 'freezedry',
    'conditions': [
      ['OS=="linux"', {
        'sources': [
          'native/core/archive_format.cc',
          'native/core/archive_page_output.cc',
          'native/core/archive_reader.cc',
          'native/core/archive_writer.cc',
          'native/core/criu_channel.cc',
          'native/core/dirty_tracker.cc',
          'native/core/exit_watch.cc',
          'native/core/io.cc',
          'native/core/page_sink.cc',
          'native/core/page_source.cc',
          'native/core/process_memory.cc',
          'native/core/pagemap_image.cc',
          'native/core/seqpacket.cc',
          'native/core/sys_error.cc',
          'native/core/uffd_server.cc',
          'native/core/wake_event.cc',
          'native/core/zstd_buffer.cc',
          'native/addon/addon.cc',
          'native/addon/archive_reader_wrap.cc',
          'native/addon/archive_writer_wrap.cc',
          'native/addon/criu_channel_wrap.cc',
          'native/addon/dirty_tracker_wrap.cc',
          'native/addon/exit_watch_wrap.cc',
          'native/addon/js_error.cc',
          'native/addon/memory_wrap.cc',
          'native/addon/page_sink_wrap.cc',
          'native/addon/uffd_server_wrap.cc',
        ],
        'include_dirs': ['native'],
        'dependencies': ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
        'defines': ['NAPI_VERSION=8', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
        'cflags_cc!': ['-std=gnu++17', '-fno-exceptions'],
        'cflags_cc': ['-std=c++20', '-fvisibility=hidden', '-Wall', '-Wextra'],
        'ldflags': ['-Wl,--exclude-libs,ALL'],
        'libraries': ['-lzstd', '-lxxhash'],
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
      }],
    ],
  }],
}