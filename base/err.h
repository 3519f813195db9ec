/* err: the one error enum of the project.
 *
 * Every function that can fail returns 0 (ERR_OK) or one of these negative
 * codes. Human detail travels in a caller-provided buffer; only the HTTP layer
 * turns codes into HTTP answers. */
#ifndef VS_ERR_H
#define VS_ERR_H

enum err {
    ERR_OK = 0,
    ERR_INVAL = -1,       /* malformed input: bad JSON, wrong type, bad syntax */
    ERR_RANGE = -2,       /* a number outside its allowed bounds */
    ERR_TOOBIG = -3,      /* input over a size or count limit */
    ERR_NOTFOUND = -4,    /* no such node, pod, key */
    ERR_NOFIT = -5,       /* the pod fits nowhere it may go */
    ERR_CONFLICT = -6,    /* lost a race: 409, lock held by another pod */
    ERR_IO = -7,          /* file or network failure */
    ERR_TIMEOUT = -8,     /* a peer did not answer in time */
    ERR_NOTREADY = -9,    /* cache not synced yet */
    ERR_PROTO = -10,      /* a peer answered something we cannot use */
    ERR_UNSUPPORTED = -11 /* valid input we deliberately do not handle */
};

/* Returns a static description of an error code ("invalid input" for
 * ERR_INVAL, "unknown error" for a code not in the enum); never NULL. */
const char *err_name(int rc);

#endif
