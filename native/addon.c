/*
 * netlink-agent native addon: the only C in the project. It owns what JavaScript cannot do:
 * netlink sockets (in any network namespace), their options, batched send/receive on the libuv
 * loop, network-namespace create/enter, and flock(2) locks. Everything about message formats
 * lives in TypeScript.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "common.h"

void nla_throw_errno(napi_env env, int err, const char *syscall, const char *detail) {
  char msg[512];
  const char *code = uv_err_name(-err);
  if (detail && *detail)
    snprintf(msg, sizeof msg, "%s %s: %s (%s)", syscall, code, strerror(err), detail);
  else
    snprintf(msg, sizeof msg, "%s %s: %s", syscall, code, strerror(err));
  napi_value message, error, v;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message) != napi_ok) return;
  if (napi_create_error(env, NULL, message, &error) != napi_ok) return;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "code", v);
  napi_create_int32(env, err, &v);
  napi_set_named_property(env, error, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "syscall", v);
  if (detail && *detail) {
    napi_create_string_utf8(env, detail, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, error, "path", v);
  }
  napi_throw(env, error);
}

void nla_throw_napi_failure(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, "ERR_NAPI", what);
}

void nla_throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
}

int nla_opt_string(napi_env env, napi_value v, char *buf, size_t size) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_undefined || t == napi_null) return 0;
  if (t != napi_string) {
    nla_throw_type(env, "expected a string");
    return -1;
  }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return -1;
  if (len + 1 > size) {
    nla_throw_type(env, "string argument too long");
    return -1;
  }
  napi_get_value_string_utf8(env, v, buf, size, &len);
  return 1;
}

int nla_get_int32(napi_env env, napi_value v, int32_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t != napi_number) {
    nla_throw_type(env, "expected a number");
    return -1;
  }
  return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -1;
}

static napi_value init(napi_env env, napi_value exports) {
  if (!nla_init_socket(env, exports)) return NULL;
  if (!nla_init_netns(env, exports)) return NULL;
  if (!nla_init_flock(env, exports)) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
