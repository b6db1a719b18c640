/*
 * Advisory file locks (flock(2)), which Node has no call for. The CNI plugin's IPAM locks its
 * reservation directory with them exactly as the reference host-local plugin does, so the two
 * can share a directory, and a lock dies with the process that held it (a killed plugin never
 * leaves its network locked).
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/file.h>

#include "common.h"

/* lock(fd, exclusive, wait) -> true when taken; false only when !wait and another holder has it.
 * unlock(fd). Both throw a Node-style error (code, errno, syscall 'flock') for anything else. */
static napi_value fl_lock(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  bool exclusive = true, wait = false;
  if (argc < 1 || nla_get_int32(env, argv[0], &fd) < 0) return NULL;
  if (argc >= 2) NAPI_CALL(env, napi_get_value_bool(env, argv[1], &exclusive));
  if (argc >= 3) NAPI_CALL(env, napi_get_value_bool(env, argv[2], &wait));
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  int rc;
  do rc = flock(fd, op);
  while (rc < 0 && errno == EINTR);
  napi_value out;
  if (rc < 0) {
    if (errno == EWOULDBLOCK && !wait) {
      NAPI_CALL(env, napi_get_boolean(env, false, &out));
      return out;
    }
    nla_throw_errno(env, errno, "flock", NULL);
    return NULL;
  }
  NAPI_CALL(env, napi_get_boolean(env, true, &out));
  return out;
}

static napi_value fl_unlock(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || nla_get_int32(env, argv[0], &fd) < 0) return NULL;
  if (flock(fd, LOCK_UN) < 0) nla_throw_errno(env, errno, "flock", NULL);
  return NULL;
}

napi_value nla_init_flock(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
      {"lock", NULL, fl_lock, NULL, NULL, NULL, napi_default, NULL},
      {"unlock", NULL, fl_unlock, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value obj;
  NAPI_CALL(env, napi_create_object(env, &obj));
  NAPI_CALL(env, napi_define_properties(env, obj, sizeof fns / sizeof fns[0], fns));
  NAPI_CALL(env, napi_set_named_property(env, exports, "flock", obj));
  return exports;
}
