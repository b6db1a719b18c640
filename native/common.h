/* Shared helpers for the netlink-agent addon: Node-style errors and argument parsing. */
#ifndef NLA_COMMON_H
#define NLA_COMMON_H

#include <node_api.h>
#include <stdint.h>

#define NAPI_CALL(env, call)                                                   \
  do {                                                                         \
    if ((call) != napi_ok) {                                                   \
      nla_throw_napi_failure((env), #call);                                    \
      return NULL;                                                             \
    }                                                                          \
  } while (0)

/* Throws a Node-style Error with code ('EPERM'), errno (positive), syscall. */
void nla_throw_errno(napi_env env, int err, const char *syscall, const char *detail);
void nla_throw_napi_failure(napi_env env, const char *what);
void nla_throw_type(napi_env env, const char *message);

/* Reads an optional string argument into buf; returns 1 if present, 0 if null/undefined, -1 on error (thrown). */
int nla_opt_string(napi_env env, napi_value v, char *buf, size_t size);
int nla_get_int32(napi_env env, napi_value v, int32_t *out);

napi_value nla_init_socket(napi_env env, napi_value exports);
napi_value nla_init_netns(napi_env env, napi_value exports);
napi_value nla_init_flock(napi_env env, napi_value exports);

#endif
