#include "memory_store.h"

#include <stdlib.h>
#include <string.h>

void memory_store_init(MemoryStore *store) {
    memset(store, 0, sizeof *store);
    pthread_mutex_init(&store->lock, NULL);
}

static void entry_free(MemoryEntry *e) {
    free(e->key);
    free(e->value);
}

void memory_store_destroy(MemoryStore *store) {
    for (size_t i = 0; i < store->count; i++) entry_free(&store->entries[i]);
    free(store->entries);
    pthread_mutex_destroy(&store->lock);
}

static MemoryEntry *find(MemoryStore *store, const uint8_t *key, size_t key_len) {
    for (size_t i = 0; i < store->count; i++) {
        MemoryEntry *e = &store->entries[i];
        if (e->key_len == key_len && memcmp(e->key, key, key_len) == 0) return e;
    }
    return NULL;
}

static void *copy_bytes(const void *src, size_t len) {
    void *dst = malloc(len ? len : 1);
    if (len) memcpy(dst, src, len);
    return dst;
}

int32_t memory_store_get(void *user_data, const uint8_t *key, size_t key_len, MssStoreReply *reply) {
    MemoryStore *store = user_data;
    int32_t status = 0;
    pthread_mutex_lock(&store->lock);
    MemoryEntry *e = find(store, key, key_len);
    if (e) status = mss_store_reply_set_value(reply, e->value, e->value_len, e->version, NULL);
    pthread_mutex_unlock(&store->lock);
    return status;
}

int32_t memory_store_scan(void *user_data, const uint8_t *prefix, size_t prefix_len, MssStoreReply *reply) {
    MemoryStore *store = user_data;
    int32_t status = 0;
    pthread_mutex_lock(&store->lock);
    for (size_t i = 0; i < store->count && status == 0; i++) {
        MemoryEntry *e = &store->entries[i];
        if (e->key_len >= prefix_len && memcmp(e->key, prefix, prefix_len) == 0)
            status = mss_store_reply_add_entry(reply, (const uint8_t *)e->key, e->key_len, e->value,
                                               e->value_len, e->version, NULL);
    }
    pthread_mutex_unlock(&store->lock);
    return status;
}

static int expectation_holds(MemoryStore *store, const MssStoreWrite *w) {
    if (store->ignore_expectations) return 1;
    MemoryEntry *e = find(store, w->key, w->key_len);
    switch (w->expect) {
    case MSS_EXPECT_ANY: return 1;
    case MSS_EXPECT_ABSENT: return e == NULL;
    case MSS_EXPECT_VERSION: return e != NULL && e->version == w->expected_version;
    default: return 0;
    }
}

static void apply(MemoryStore *store, const MssStoreWrite *w) {
    MemoryEntry *e = find(store, w->key, w->key_len);
    if (w->kind == MSS_WRITE_KIND_DELETE) {
        if (e) {
            entry_free(e);
            *e = store->entries[--store->count];
        }
        return;
    }
    if (!e) {
        if (store->count == store->capacity) {
            store->capacity = store->capacity ? store->capacity * 2 : 16;
            store->entries = realloc(store->entries, store->capacity * sizeof *store->entries);
        }
        e = &store->entries[store->count++];
        e->key = copy_bytes(w->key, w->key_len);
        e->key_len = w->key_len;
    } else {
        free(e->value);
    }
    e->value = copy_bytes(w->value, w->value_len);
    e->value_len = w->value_len;
    e->version = ++store->last_version;
}

int32_t memory_store_commit(void *user_data, const MssStoreWrite *writes, size_t count, MssStoreReply *reply) {
    MemoryStore *store = user_data;
    pthread_mutex_lock(&store->lock);
    /* Expectations are checked against the state before the batch, then all writes apply. */
    for (size_t i = 0; i < count; i++) {
        if (!expectation_holds(store, &writes[i])) {
            pthread_mutex_unlock(&store->lock);
            mss_store_reply_set_message(reply, writes[i].key, writes[i].key_len, NULL);
            return MSS_STATUS_STORE_CONFLICT;
        }
    }
    for (size_t i = 0; i < count; i++) apply(store, &writes[i]);
    pthread_mutex_unlock(&store->lock);
    return 0;
}
