/* The smallest C host of libmssync that runs a sync: an in-memory store, HTTP on libcurl, and the
 * whole product against the simulators (the `mssync-sims` binary, whose JSON line is given in
 * MSS_SIMS_JSON; see README). Without it, it lists the time zones Setup offers and says how to
 * start the simulators. */
#include <curl/curl.h>
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

/* HTTP on libcurl, answered before http_send returns (a real host may answer from any thread). */
static MssEngine *the_engine;

typedef struct Reply {
    char *body;
    size_t len;
    MssHttpHeader headers[32];
    char *lines[32];
    size_t count;
} Reply;

static char *copy(const void *p, size_t n) {
    char *s = malloc(n + 1);
    if (n) memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* The longest response body read (the engine's own limit): returning less than was given makes
 * libcurl stop with a write error, and the request fails instead of growing without bound. */
#define MAX_RESPONSE_BYTES ((size_t)32 * 1024 * 1024)

static size_t on_body(char *data, size_t size, size_t n, void *user) {
    Reply *r = user;
    if (r->len + size * n > MAX_RESPONSE_BYTES) return 0;
    r->body = realloc(r->body, r->len + size * n + 1);
    memcpy(r->body + r->len, data, size * n);
    r->len += size * n;
    return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *user) {
    Reply *r = user;
    char *colon = memchr(data, ':', size * n);
    if (colon && r->count < 32) {
        char *line = copy(data, size * n), *value = line + (colon - data) + 1;
        while (*value == ' ') value++;
        r->lines[r->count] = line;
        r->headers[r->count++] = (MssHttpHeader){(uint8_t *)line, (size_t)(colon - data), (uint8_t *)value,
                                                 strcspn(value, "\r\n")};
    }
    return size * n;
}

static int32_t http_send(void *user, uint64_t id, const MssHttpRequest *rq) {
    (void)user;
    char *method = copy(rq->method, rq->method_len), *url = copy(rq->url, rq->url_len);
    struct curl_slist *headers = NULL;
    for (size_t i = 0; i < rq->header_count; i++) {
        const MssHttpHeader *h = &rq->headers[i];
        char *line = malloc(h->name_len + h->value_len + 3);
        sprintf(line, "%.*s: %.*s", (int)h->name_len, (const char *)h->name, (int)h->value_len, (const char *)h->value);
        headers = curl_slist_append(headers, line);
        free(line);
    }
    Reply reply = {0};
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (rq->body_len) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (const char *)rq->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)rq->body_len);
    }
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)rq->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply);
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        MssHttpResponse response = {(uint32_t)status, reply.headers, reply.count, (uint8_t *)reply.body, reply.len};
        mss_http_complete(the_engine, id, &response, NULL);
    } else {
        const char *why = curl_easy_strerror(rc);
        mss_http_fail(the_engine, id,
                      rc == CURLE_OPERATION_TIMEDOUT ? MSS_TRANSPORT_ERROR_KIND_TIMEOUT : MSS_TRANSPORT_ERROR_KIND_CONNECTION,
                      (const uint8_t *)why, strlen(why), NULL);
    }
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    for (size_t i = 0; i < reply.count; i++) free(reply.lines[i]);
    free(reply.body); free(method); free(url);
    return 0;
}

/* ---- a few helpers for JSON text and the "browser" ------------------------------------------- */

#define SPAN(s) (const uint8_t *)(s), strlen(s)

/* The string value of "key" in flat JSON (no escapes in the values used here); caller frees. */
static char *json_string(const char *json, const char *key) {
    char needle[128];
    snprintf(needle, sizeof needle, "\"%s\":\"", key);
    const char *start = strstr(json, needle);
    if (!start) return copy("", 0);
    start += strlen(needle);
    return copy(start, strcspn(start, "\""));
}

/* Prints a failed call and ends the program. */
static void check(int32_t status, MssError *error, const char *what) {
    if (status == 0) return;
    fprintf(stderr, "%s: %s (%s)\n", what, error ? error->message : "", mss_status_name(status));
    mss_error_free(error);
    exit(1);
}

/* The text of an output buffer, freeing the buffer. */
static char *text(MssBuffer *out) {
    char *s = copy(out->ptr, out->len);
    mss_buffer_free(out);
    return s;
}

/* The browser's first hop: the redirect's Location, or a query parameter of it. */
static char *redirect_param(const char *url, const char *name) {
    CURL *curl = curl_easy_init();
    Reply ignored = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ignored);
    char *location = NULL, *value = copy("", 0);
    if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location);
    char needle[64];
    snprintf(needle, sizeof needle, "%s=", name);
    const char *at = location ? strstr(location, needle) : NULL;
    if (at) {
        at += strlen(needle);
        int len = 0;
        char *decoded = curl_easy_unescape(curl, at, (int)strcspn(at, "&#"), &len);
        free(value);
        value = copy(decoded, (size_t)len);
        curl_free(decoded);
    }
    curl_easy_cleanup(curl);
    free(ignored.body);
    return value;
}

#define ACTOR "{\"kind\":\"host\"}"

/* The whole product: an admin connects the tenant, Alice signs in, sets up, and her calendar syncs. */
static void sync_with_simulators(const char *sims) {
    char *authority = json_string(sims, "authority"), *graph = json_string(sims, "graph_base_url"),
         *erp = json_string(sims, "erp_base_url"), *identity = json_string(sims, "erp_identity_base"),
         *erp_client = json_string(sims, "erp_client_id"), *erp_secret = json_string(sims, "erp_client_secret"),
         *redirect = json_string(sims, "redirect_uri"), *tenant = json_string(sims, "tenant_id"),
         *client = json_string(sims, "client_id"), *secret = json_string(sims, "client_secret"),
         *admin = json_string(sims, "admin_oid"), *domain = json_string(sims, "domain"),
         *email = json_string(sims, "alice_email"), *company = json_string(sims, "company_id"),
         *location = json_string(sims, "location_id");
    char config[4096], change[1024];
    snprintf(config, sizeof config,
             "{\"authority\":\"%s\",\"graph_base_url\":\"%s\",\"erp_base_url\":\"%s\",\"erp_access\":{\"kind\":"
             "\"trusted_app\",\"identity_base\":\"%s\",\"client_id\":\"%s\",\"client_secret\":\"%s\"},"
             "\"redirect_uri\":\"%s\",\"runner_id\":\"c-host\","
             "\"sealing_key\":\"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\"}",
             authority, graph, erp, identity, erp_client, erp_secret, redirect);
    static Store store;
    MssHostVtable host = {&store, http_send, store_get, store_scan, store_commit, store_release};
    MssError *error = NULL;
    MssBuffer out = {0};
    check(mss_engine_new(&host, SPAN(config), &the_engine, &error), error, "engine");

    snprintf(change, sizeof change,
             "{\"tenant_id\":\"%s\",\"client_id\":\"%s\",\"mode\":\"application\",\"credential\":{\"kind\":"
             "\"secret\",\"secret\":\"%s\"}}", tenant, client, secret);
    check(mss_service_set(the_engine, SPAN(ACTOR), SPAN(change), &out, &error), error, "service");
    mss_buffer_free(&out);
    check(mss_service_consent_url(the_engine, SPAN(ACTOR), &out, &error), error, "consent url");
    char *consent = text(&out), *url = json_string(consent, "url"), *granted = redirect_param(url, "admin_consent");
    printf("admin consent: %s\n", granted);
    free(consent); free(url); free(granted);
    check(mss_service_connect(the_engine, SPAN(ACTOR), SPAN(admin), &out, &error), error, "connect");
    char *report = text(&out);
    printf("connect: %s\n", report);
    free(report);
    check(mss_service_give_permissions(the_engine, SPAN(ACTOR), &out, &error), error, "give permissions");
    mss_buffer_free(&out);
    check(mss_service_grant_domain(the_engine, SPAN(ACTOR), SPAN(domain), &out, &error), error, "grant domain");
    mss_buffer_free(&out);

    /* A real host passes a value of its own session of the browser (a session cookie's hash). */
    check(mss_signin_begin(the_engine, SPAN(email), SPAN("c-host-browser-session"), &out, &error), error, "sign-in");
    char *start = text(&out), *authorize = json_string(start, "authorize_url");
    char *code = redirect_param(authorize, "code"), *state = redirect_param(authorize, "state");
    check(mss_signin_complete(the_engine, SPAN(state), SPAN(code), SPAN("c-host-browser-session"), &out, &error),
          error, "sign-in");
    char *session = text(&out), *user = json_string(session, "user_id");
    printf("signed in: %s\n", session);
    free(start); free(authorize); free(code); free(state); free(session);

    check(mss_setup_set_company(the_engine, SPAN(user), SPAN(company), SPAN(location), &out, &error), error, "setup");
    mss_buffer_free(&out);
    check(mss_setup_change(the_engine, SPAN(user), SPAN("{\"time_zone\":\"FLE Standard Time\"}"), &out, &error),
          error, "setup");
    mss_buffer_free(&out);
    check(mss_setup_set_job(the_engine, SPAN(user), SPAN("calendar"), 1, &out, &error), error, "setup");
    mss_buffer_free(&out);

    check(mss_job_run(the_engine, SPAN(user), SPAN("calendar"), 0, &out, &error), error, "run");
    report = text(&out);
    printf("run: %s\n", report);
    free(report);
    check(mss_home_get(the_engine, SPAN(user), &out, &error), error, "home");
    char *home = text(&out);
    printf("home: %s\n", home);
    free(home); free(user);

    mss_engine_free(the_engine); /* calls store_release */
    free(authority); free(graph); free(erp); free(identity); free(erp_client); free(erp_secret); free(redirect);
    free(tenant); free(client); free(secret); free(admin); free(domain); free(email); free(company); free(location);
}

/* Without the simulators: the time zones Setup offers, from an unconnected engine. */
static int list_time_zones(void) {
    static Store store;
    MssHostVtable host = {&store, http_send, store_get, store_scan, store_commit, store_release};
    MssError *error = NULL;
    check(mss_engine_new(&host, SPAN("{}"), &the_engine, &error), error, "engine");
    MssBuffer zones = {0};
    int32_t status = mss_time_zones(&zones, &error);
    if (status == 0) printf("%.*s\n", (int)zones.len, (const char *)zones.ptr);
    else fprintf(stderr, "time zones: %s (%s)\n", error->message, mss_status_name(status));
    mss_buffer_free(&zones);
    mss_error_free(error);
    mss_engine_free(the_engine);
    return status == 0 ? 0 : 1;
}

int main(void) {
    if (mss_abi_version() != MSS_ABI_VERSION) {
        fprintf(stderr, "libmssync ABI %u, header %u\n", mss_abi_version(), MSS_ABI_VERSION);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *sims = getenv("MSS_SIMS_JSON");
    int rc = 0;
    if (sims && *sims) {
        sync_with_simulators(sims);
    } else {
        rc = list_time_zones();
        fprintf(stderr,
                "No simulators given: listed the time zones only. To run a sync, start them and pass their JSON line:\n"
                "  cargo build -p mssync-sim --bin mssync-sims\n"
                "  coproc SIMS { target/debug/mssync-sims; }; read -r MSS_SIMS_JSON <&\"${SIMS[0]}\"\n"
                "  MSS_SIMS_JSON=\"$MSS_SIMS_JSON\" examples/c-host/c-host\n");
    }
    curl_global_cleanup();
    return rc;
}
