/* An in-memory, thread-safe store implementing the MsSync store callbacks in C. */
#ifndef MEMORY_STORE_H
#define MEMORY_STORE_H

#include <pthread.h>
#include "mssync.h"

typedef struct MemoryEntry {
    char *key;
    size_t key_len;
    uint8_t *value;
    size_t value_len;
    uint64_t version;
} MemoryEntry;

typedef struct MemoryStore {
    pthread_mutex_t lock;
    MemoryEntry *entries;
    size_t count, capacity;
    uint64_t last_version; /* one counter for the whole store: versions never repeat */
    int ignore_expectations; /* a deliberately broken store, to show the suite can fail */
} MemoryStore;

void memory_store_init(MemoryStore *store);
void memory_store_destroy(MemoryStore *store);

int32_t memory_store_get(void *user_data, const uint8_t *key, size_t key_len, MssStoreReply *reply);
int32_t memory_store_scan(void *user_data, const uint8_t *prefix, size_t prefix_len, MssStoreReply *reply);
int32_t memory_store_commit(void *user_data, const MssStoreWrite *writes, size_t count, MssStoreReply *reply);

#endif
