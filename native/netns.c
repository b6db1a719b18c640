/*
 * Network namespaces, the way iproute2 keeps them: a namespace is a bind mount of a
 * /proc/.../ns/net file onto /run/netns/NAME, where /run/netns is a shared mount point, so
 * `ip netns list/exec` and this library see the same namespaces.
 *
 * New namespaces are made on a dedicated thread (unshare(CLONE_NEWNET) changes only the calling
 * thread), so no JavaScript thread ever changes namespace by accident. enter()/restore() exist
 * for the deliberate cases: Netns.run() around synchronous work and worker threads that live in
 * a namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define PATH_BUF 4096

/* Makes dir a shared mount point (bind-mounting it onto itself first if it is not a mount),
 * exactly as `ip netns add` does, so unmounts propagate between mount namespaces. */
static int make_shared_dir(const char *dir, const char **syscall) {
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
    *syscall = "mkdir";
    return errno;
  }
  int bound = 0;
  while (mount("", dir, "none", MS_SHARED | MS_REC, NULL) < 0) {
    if (errno != EINVAL || bound) {
      *syscall = "mount";
      return errno;
    }
    if (mount(dir, dir, "none", MS_BIND | MS_REC, NULL) < 0) {
      *syscall = "mount";
      return errno;
    }
    bound = 1;
  }
  return 0;
}

typedef struct {
  const char *path;
  int err;
  const char *syscall;
} create_args_t;

static void *create_thread(void *p) {
  create_args_t *a = p;
  if (unshare(CLONE_NEWNET) < 0) {
    a->err = errno;
    a->syscall = "unshare";
    return NULL;
  }
  if (mount("/proc/thread-self/ns/net", a->path, "none", MS_BIND, NULL) < 0) {
    a->err = errno;
    a->syscall = "mount";
  }
  return NULL;
}

/* create(dir, path): throws EEXIST when the namespace exists. */
static napi_value ns_create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char dir[PATH_BUF], path[PATH_BUF];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || nla_opt_string(env, argv[0], dir, sizeof dir) != 1 ||
      nla_opt_string(env, argv[1], path, sizeof path) != 1) {
    nla_throw_type(env, "create(dir, path): two strings expected");
    return NULL;
  }
  const char *syscall = NULL;
  int err = make_shared_dir(dir, &syscall);
  if (err) {
    nla_throw_errno(env, err, syscall, dir);
    return NULL;
  }
  int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) {
    nla_throw_errno(env, errno, "open", path);
    return NULL;
  }
  close(fd);
  create_args_t a = {path, 0, NULL};
  pthread_t t;
  int rc = pthread_create(&t, NULL, create_thread, &a);
  if (rc != 0) {
    a.err = rc;
    a.syscall = "pthread_create";
  } else {
    pthread_join(t, NULL);
  }
  if (a.err) {
    unlink(path);
    nla_throw_errno(env, a.err, a.syscall, path);
    return NULL;
  }
  return NULL;
}

/* remove(path): detach the bind mount, then remove the file. The namespace itself goes away
 * when nothing else (a process, a socket, a mount) holds it. */
static napi_value ns_remove(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[PATH_BUF];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || nla_opt_string(env, argv[0], path, sizeof path) != 1) {
    nla_throw_type(env, "remove(path): a string expected");
    return NULL;
  }
  if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL) {
    nla_throw_errno(env, errno, "umount2", path);
    return NULL;
  }
  if (unlink(path) < 0) {
    nla_throw_errno(env, errno, "unlink", path);
    return NULL;
  }
  return NULL;
}

static int open_target(napi_env env, napi_value v, int *owned) {
  napi_valuetype t;
  *owned = 0;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_number) {
    int32_t fd;
    if (nla_get_int32(env, v, &fd) < 0) return -1;
    return fd;
  }
  char path[PATH_BUF];
  if (nla_opt_string(env, v, path, sizeof path) != 1) {
    nla_throw_type(env, "a namespace path or file descriptor expected");
    return -1;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    nla_throw_errno(env, errno, "open", path);
    return -1;
  }
  *owned = 1;
  return fd;
}

/* enter(pathOrFd) -> fd of the namespace this thread was in (give it to restore()). */
static napi_value ns_enter(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    nla_throw_type(env, "enter(pathOrFd)");
    return NULL;
  }
  int owned;
  int target = open_target(env, argv[0], &owned);
  if (target < 0) return NULL;
  int old = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (old < 0) {
    int err = errno;
    if (owned) close(target);
    nla_throw_errno(env, err, "open", "/proc/thread-self/ns/net");
    return NULL;
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    int err = errno;
    if (owned) close(target);
    close(old);
    nla_throw_errno(env, err, "setns", NULL);
    return NULL;
  }
  if (owned) close(target);
  napi_value out;
  NAPI_CALL(env, napi_create_int32(env, old, &out));
  return out;
}

/* restore(fd): back to the namespace enter() returned, and close it. A thread that cannot get
 * back would run everything after it in the wrong namespace: that is fatal, not an exception. */
static napi_value ns_restore(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || nla_get_int32(env, argv[0], &fd) < 0) return NULL;
  if (setns(fd, CLONE_NEWNET) < 0) {
    char msg[160];
    snprintf(msg, sizeof msg, "could not return to the original network namespace: %s", strerror(errno));
    napi_fatal_error("netlink-agent", NAPI_AUTO_LENGTH, msg, NAPI_AUTO_LENGTH);
  }
  close(fd);
  return NULL;
}

/* inode(path?) -> the namespace's inode number as a string (identity of a namespace);
 * without a path, the calling thread's own. */
static napi_value ns_inode(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[PATH_BUF] = "/proc/thread-self/ns/net";
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc >= 1 && nla_opt_string(env, argv[0], path, sizeof path) < 0) return NULL;
  struct stat st;
  if (stat(path, &st) < 0) {
    nla_throw_errno(env, errno, "stat", path);
    return NULL;
  }
  char buf[32];
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)st.st_ino);
  napi_value out;
  NAPI_CALL(env, napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &out));
  return out;
}

/* openNs(path) -> an O_RDONLY fd on a namespace file (for IFLA_NET_NS_FD); closeFd(fd). */
static napi_value ns_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int owned;
  if (argc < 1) return NULL;
  int fd = open_target(env, argv[0], &owned);
  if (fd < 0) return NULL;
  napi_value out;
  NAPI_CALL(env, napi_create_int32(env, fd, &out));
  return out;
}

static napi_value ns_close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || nla_get_int32(env, argv[0], &fd) < 0) return NULL;
  if (close(fd) < 0) nla_throw_errno(env, errno, "close", NULL);
  return NULL;
}

napi_value nla_init_netns(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
      {"create", NULL, ns_create, NULL, NULL, NULL, napi_default, NULL},
      {"remove", NULL, ns_remove, NULL, NULL, NULL, napi_default, NULL},
      {"enter", NULL, ns_enter, NULL, NULL, NULL, napi_default, NULL},
      {"restore", NULL, ns_restore, NULL, NULL, NULL, napi_default, NULL},
      {"inode", NULL, ns_inode, NULL, NULL, NULL, napi_default, NULL},
      {"open", NULL, ns_open, NULL, NULL, NULL, napi_default, NULL},
      {"closeFd", NULL, ns_close_fd, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value obj;
  NAPI_CALL(env, napi_create_object(env, &obj));
  NAPI_CALL(env, napi_define_properties(env, obj, sizeof fns / sizeof fns[0], fns));
  NAPI_CALL(env, napi_set_named_property(env, exports, "netns", obj));
  return exports;
}
