{
  "targets": [
    {
      "target_name": "netlink_agent",
      "sources": ["native/addon.c", "native/nlsock.c", "native/netns.c", "native/flock.c", "native/sender.c", "native/rx.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["_GNU_SOURCE", "NAPI_VERSION=8"]
    }
  ]
}
