#include "base/init.h"

#include <pthread.h>

#include "base/arena.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;

void base_init(void)
{
    pthread_once(&once, arena_install);
}
