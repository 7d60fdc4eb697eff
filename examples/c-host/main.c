/* The smallest C host of libmssync: an engine over an in-memory store, listing the time zones
 * Setup offers. It has no HTTP client: requests fail with a transport error (see README). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mssync.h"

/* A tiny single-threaded store: a linked list, one version counter for the whole store. */
typedef struct Entry {
    struct Entry *next;
    char *key;
    size_t key_len;
    uint8_t *value;
    size_t value_len;
    uint64_t version;
} Entry;

typedef struct Store {
    Entry *head;
    uint64_t last_version;
} Store;

static Entry **find(Store *s, const uint8_t *key, size_t len) {
    Entry **e = &s->head;
    while (*e && !((*e)->key_len == len && memcmp((*e)->key, key, len) == 0)) e = &(*e)->next;
    return e;
}

static int32_t store_get(void *user, const uint8_t *key, size_t len, MssStoreReply *reply) {
    Entry *e = *find(user, key, len);
    return e ? mss_store_reply_set_value(reply, e->value, e->value_len, e->version, NULL) : 0;
}

static int32_t store_scan(void *user, const uint8_t *prefix, size_t len, MssStoreReply *reply) {
    for (Entry *e = ((Store *)user)->head; e; e = e->next)
        if (e->key_len >= len && memcmp(e->key, prefix, len) == 0)
            mss_store_reply_add_entry(reply, (uint8_t *)e->key, e->key_len, e->value, e->value_len, e->version, NULL);
    return 0;
}

static int32_t store_commit(void *user, const MssStoreWrite *w, size_t count, MssStoreReply *reply) {
    Store *s = user;
    (void)reply;
    for (size_t i = 0; i < count; i++) { /* all expectations first: the batch is all or nothing */
        Entry *e = *find(s, w[i].key, w[i].key_len);
        if ((w[i].expect == MSS_EXPECT_ABSENT && e) ||
            (w[i].expect == MSS_EXPECT_VERSION && (!e || e->version != w[i].expected_version)))
            return MSS_STATUS_STORE_CONFLICT;
    }
    for (size_t i = 0; i < count; i++) {
        Entry **slot = find(s, w[i].key, w[i].key_len), *e = *slot;
        if (w[i].kind == MSS_WRITE_KIND_DELETE) {
            if (e) { *slot = e->next; free(e->key); free(e->value); free(e); }
            continue;
        }
        if (!e) {
            e = calloc(1, sizeof *e);
            e->key = malloc(w[i].key_len + 1);
            memcpy(e->key, w[i].key, w[i].key_len);
            e->key_len = w[i].key_len;
            *slot = e;
        }
        free(e->value);
        e->value = malloc(w[i].value_len + 1);
        if (w[i].value_len) memcpy(e->value, w[i].value, w[i].value_len);
        e->value_len = w[i].value_len;
        e->version = ++s->last_version;
    }
    return 0;
}

static void store_release(void *user) {
    Store *s = user;
    while (s->head) { Entry *e = s->head; s->head = e->next; free(e->key); free(e->value); free(e); }
}

/* No HTTP client in this example: every request fails at once as a host transport error. */
static MssEngine *the_engine;
static int32_t http_send(void *user, uint64_t id, const MssHttpRequest *request) {
    (void)user; (void)request;
    const char *why = "the C example host has no HTTP client";
    return mss_http_fail(the_engine, id, MSS_TRANSPORT_ERROR_KIND_HOST, (const uint8_t *)why, strlen(why), NULL);
}

int main(void) {
    if (mss_abi_version() != MSS_ABI_VERSION) {
        fprintf(stderr, "libmssync ABI %u, header %u\n", mss_abi_version(), MSS_ABI_VERSION);
        return 1;
    }
    static Store store;
    MssHostVtable host = {&store, http_send, store_get, store_scan, store_commit, store_release};
    MssError *error = NULL;
    const char *config = "{}";
    if (mss_engine_new(&host, (const uint8_t *)config, strlen(config), &the_engine, &error) != 0) {
        fprintf(stderr, "engine: %s (%s)\n", error->message, mss_status_name(error->code));
        mss_error_free(error);
        return 1;
    }

    MssBuffer zones = {0};
    int32_t status = mss_time_zones(&zones, &error);
    if (status == 0) {
        printf("%.*s\n", (int)zones.len, (const char *)zones.ptr);
    } else {
        fprintf(stderr, "time zones: %s (%s)\n", error->message, mss_status_name(status));
    }
    mss_buffer_free(&zones);
    mss_error_free(error);
    mss_engine_free(the_engine); /* calls store_release */
    return status == 0 ? 0 : 1;
}
