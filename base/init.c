#include "base/init.h"

#include <pthread.h>

#include "base/arena.h"
#include "base/mem.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_once(void)
{
    mem_policy();
    arena_install();
}

void base_init(void)
{
    pthread_once(&once, init_once);
}
