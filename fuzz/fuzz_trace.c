/* The replay's trace files (bench/trace.h): any bytes as a node list and as
 * a task list end in 0 or an error, and what was read is in range. */
#include <stdint.h>
#include "base/err.h"
#include "bench/trace.h"
#include "fuzz/fuzz.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (size > 1 << 16)
        return 0;
    const char *path = fuzz_file(data, size);
    struct trace t = {0};
    int rn = trace_load_nodes(path, &t), rt = trace_load_tasks(path, &t);
    FUZZ_CHECK(rn == 0 || rn == ERR_INVAL, "nodes rc %d", rn);
    FUZZ_CHECK(rt == 0 || rt == ERR_INVAL, "tasks rc %d", rt);
    int64_t capacity = 0;
    for (int i = 0; i < t.nnodes; i++) {
        FUZZ_CHECK(t.nodes[i].gpus >= 0 && t.nodes[i].gpus <= POLICY_MAX_DEVICES, "gpus %d",
                   t.nodes[i].gpus);
        FUZZ_CHECK(t.nodes[i].cpu >= 0 && t.nodes[i].mem >= 0, "node row %d", i);
        capacity += (int64_t)t.nodes[i].gpus * POLICY_MILLI;
    }
    FUZZ_CHECK(capacity == t.capacity, "capacity %lld, rows say %lld", (long long)t.capacity,
               (long long)capacity);
    for (int i = 0; i < t.ntasks; i++) {
        const struct task *k = &t.tasks[i];
        FUZZ_CHECK(k->num_gpu >= 0 && k->num_gpu <= POLICY_MAX_DEVICES, "num_gpu %d", k->num_gpu);
        FUZZ_CHECK(k->num_gpu == 0 ? k->milli == 0 : k->milli >= 10 && k->milli <= POLICY_MILLI,
                   "%d GPUs at %d milli", k->num_gpu, k->milli);
        FUZZ_CHECK(k->cpu >= 0 && k->mem >= 0, "task row %d", i);
    }
    trace_free(&t);
    return 0;
}
