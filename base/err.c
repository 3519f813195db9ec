#include "base/err.h"

const char *err_name(int rc)
{
    switch (rc) {
    case ERR_OK:
        return "ok";
    case ERR_INVAL:
        return "invalid input";
    case ERR_RANGE:
        return "out of range";
    case ERR_TOOBIG:
        return "too big";
    case ERR_NOTFOUND:
        return "not found";
    case ERR_NOFIT:
        return "does not fit";
    case ERR_CONFLICT:
        return "conflict";
    case ERR_IO:
        return "I/O error";
    case ERR_TIMEOUT:
        return "timeout";
    case ERR_NOTREADY:
        return "not ready";
    case ERR_PROTO:
        return "protocol error";
    case ERR_UNSUPPORTED:
        return "unsupported";
    }
    return "unknown error";
}
