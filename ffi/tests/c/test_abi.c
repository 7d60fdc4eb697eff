/* C host tests of libmssync: a real C host (in-memory store, libcurl HTTP) through the committed
 * header, under AddressSanitizer, LeakSanitizer and UBSan. Ends with "N passed, N failed". */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory_store.h"
#include "mssync.h"

static int passed, failed, current_ok;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "    check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            current_ok = 0;                                                           \
        }                                                                             \
    } while (0)

#define CHECK_STATUS(got, want)                                                              \
    do {                                                                                     \
        int32_t got_ = (got);                                                                \
        if (got_ != (want)) {                                                                \
            fprintf(stderr, "    %s:%d: status %d (%s), expected %d (%s)\n", __FILE__, __LINE__, \
                    got_, mss_status_name(got_), (int)(want), mss_status_name(want));        \
            current_ok = 0;                                                                  \
        }                                                                                    \
    } while (0)

#define SPAN(s) (const uint8_t *)(s), strlen(s)

static void run(const char *name, void (*test)(void)) {
    current_ok = 1;
    test();
    printf("%s %s\n", current_ok ? "ok  " : "FAIL", name);
    if (current_ok) passed++; else failed++;
}

/* ---- the host: in-memory store + libcurl HTTP ------------------------------------------- */

typedef struct Host {
    MemoryStore store;
    MssEngine *engine; /* set after mss_engine_new, for completions */
    int complete_inline; /* 1: answer inside http_send; 0: answer from a new thread */
    int refuse_requests; /* 1: http_send returns non-zero */
    int releases;
    pthread_mutex_t threads_lock;
    pthread_t threads[64];
    size_t thread_count;
} Host;

typedef struct Exchange {
    Host *host;
    uint64_t request_id;
    char *method, *url, *body;
    size_t body_len;
    struct curl_slist *request_headers;
    /* response */
    char *response_body;
    size_t response_len;
    MssHttpHeader response_headers[32];
    char *header_lines[32];
    size_t header_count;
} Exchange;

static char *copy_span(const uint8_t *p, size_t n) {
    char *s = malloc(n + 1);
    if (n) memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static size_t on_body(char *data, size_t size, size_t n, void *user) {
    Exchange *x = user;
    x->response_body = realloc(x->response_body, x->response_len + size * n + 1);
    memcpy(x->response_body + x->response_len, data, size * n);
    x->response_len += size * n;
    return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *user) {
    Exchange *x = user;
    size_t len = size * n;
    char *colon = memchr(data, ':', len);
    if (colon && x->header_count < 32) {
        char *line = copy_span((const uint8_t *)data, len);
        size_t name_len = (size_t)(colon - data);
        char *value = line + name_len + 1;
        while (*value == ' ') value++;
        size_t value_len = strcspn(value, "\r\n");
        x->header_lines[x->header_count] = line;
        x->response_headers[x->header_count] = (MssHttpHeader){
            (const uint8_t *)line, name_len, (const uint8_t *)value, value_len};
        x->header_count++;
    }
    return len;
}

static void exchange_free(Exchange *x) {
    free(x->method); free(x->url); free(x->body); free(x->response_body);
    curl_slist_free_all(x->request_headers);
    for (size_t i = 0; i < x->header_count; i++) free(x->header_lines[i]);
    free(x);
}

/* Sends with libcurl and answers the engine; runs on whatever thread calls it. */
static void *perform(void *arg) {
    Exchange *x = arg;
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, x->url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, x->method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, x->request_headers);
    if (x->body_len) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, x->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)x->body_len);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        MssHttpResponse response = {(uint32_t)status, x->response_headers, x->header_count,
                                    (const uint8_t *)x->response_body, x->response_len};
        int32_t s = mss_http_complete(x->host->engine, x->request_id, &response, NULL);
        if (s != 0) fprintf(stderr, "    mss_http_complete returned %d\n", s);
    } else {
        int kind = rc == CURLE_OPERATION_TIMEDOUT ? MSS_TRANSPORT_ERROR_KIND_TIMEOUT
                                                  : MSS_TRANSPORT_ERROR_KIND_CONNECTION;
        mss_http_fail(x->host->engine, x->request_id, kind, SPAN(curl_easy_strerror(rc)), NULL);
    }
    curl_easy_cleanup(curl);
    exchange_free(x);
    return NULL;
}

static int32_t host_http_send(void *user_data, uint64_t request_id, const MssHttpRequest *request) {
    Host *host = user_data;
    if (host->refuse_requests) return MSS_STATUS_TRANSPORT_FAILURE;
    Exchange *x = calloc(1, sizeof *x);
    x->host = host;
    x->request_id = request_id;
    x->method = copy_span(request->method, request->method_len);
    x->url = copy_span(request->url, request->url_len);
    x->body = copy_span(request->body, request->body_len);
    x->body_len = request->body_len;
    for (size_t i = 0; i < request->header_count; i++) {
        const MssHttpHeader *h = &request->headers[i];
        char line[1024];
        snprintf(line, sizeof line, "%.*s: %.*s", (int)h->name_len, (const char *)h->name,
                 (int)h->value_len, (const char *)h->value);
        x->request_headers = curl_slist_append(x->request_headers, line);
    }
    if (host->complete_inline) {
        perform(x); /* answered before http_send returns */
        return 0;
    }
    pthread_mutex_lock(&host->threads_lock);
    pthread_create(&host->threads[host->thread_count++], NULL, perform, x);
    pthread_mutex_unlock(&host->threads_lock);
    return 0;
}

static void host_release(void *user_data) { ((Host *)user_data)->releases++; }

static Host *host_new(void) {
    Host *host = calloc(1, sizeof *host);
    memory_store_init(&host->store);
    pthread_mutex_init(&host->threads_lock, NULL);
    return host;
}

static MssHostVtable vtable_of(Host *host) {
    MssHostVtable v = {host, host_http_send, memory_store_get, memory_store_scan, memory_store_commit,
                       host_release};
    return v;
}

/* MemoryStore is the first member, so the store callbacks can take the Host as user_data. */
static MssEngine *engine_new(Host *host) {
    MssHostVtable v = vtable_of(host);
    MssError *error = NULL;
    CHECK_STATUS(mss_engine_new(&v, SPAN("{}"), &host->engine, &error), 0);
    CHECK(error == NULL);
    return host->engine;
}

static void host_free(Host *host) {
    for (size_t i = 0; i < host->thread_count; i++) pthread_join(host->threads[i], NULL);
    mss_engine_free(host->engine);
    memory_store_destroy(&host->store);
    pthread_mutex_destroy(&host->threads_lock);
    free(host);
}

static const char *base_url(void) {
    const char *url = getenv("MSS_TEST_BASE_URL");
    return url ? url : "http://127.0.0.1:1";
}

/* ---- tests ------------------------------------------------------------------------------ */

static void abi_version_matches_header(void) { CHECK(mss_abi_version() == MSS_ABI_VERSION); }

static void status_names_are_stable(void) {
    CHECK(strcmp(mss_status_name(0), "ok") == 0);
    CHECK(strcmp(mss_status_name(MSS_STATUS_STORE_CONFLICT), "store_conflict") == 0);
    CHECK(strcmp(mss_status_name(MSS_STATUS_PANIC), "panic") == 0);
    CHECK(strcmp(mss_status_name(-7), "unknown") == 0);
}

static void time_zones_list_windows_display_names(void) {
    MssBuffer out = {0};
    CHECK_STATUS(mss_time_zones(&out, NULL), 0);
    CHECK(out.len > 1000);
    char *json = copy_span(out.ptr, out.len);
    CHECK(json[0] == '[');
    CHECK(strstr(json, "\"id\":\"FLE Standard Time\"") != NULL);
    CHECK(strstr(json, "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius") != NULL);
    free(json);
    mss_buffer_free(&out);
    CHECK(out.ptr == NULL && out.len == 0);
    mss_buffer_free(&out); /* a second free is harmless */
}

static void frees_accept_null(void) {
    mss_engine_free(NULL);
    mss_error_free(NULL);
    mss_buffer_free(NULL);
}

static void forced_panic_is_a_status_not_an_abort(void) {
    MssError *error = NULL;
    CHECK_STATUS(mss_test_panic(&error), MSS_STATUS_PANIC);
    CHECK(error != NULL);
    if (error) {
        CHECK(error->code == MSS_STATUS_PANIC);
        CHECK(error->is_panic == 1);
        CHECK(strlen(error->message) == error->message_len && error->message_len > 0);
    }
    mss_error_free(error);
    CHECK_STATUS(mss_test_panic(NULL), MSS_STATUS_PANIC); /* out_error is optional */
}

static void null_arguments_are_invalid_arguments(void) {
    Host *host = host_new();
    MssHostVtable v = vtable_of(host);
    MssEngine *engine = (MssEngine *)0x1;
    MssError *error = NULL;
    CHECK_STATUS(mss_engine_new(NULL, SPAN("{}"), &engine, &error), MSS_STATUS_INVALID_ARGUMENT);
    CHECK(engine == NULL && error != NULL && error->is_panic == 0);
    mss_error_free(error);
    CHECK_STATUS(mss_engine_new(&v, SPAN("{}"), NULL, NULL), MSS_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(mss_engine_new(&v, NULL, 5, &engine, NULL), MSS_STATUS_INVALID_ARGUMENT);
    v.http_send = NULL;
    CHECK_STATUS(mss_engine_new(&v, SPAN("{}"), &engine, NULL), MSS_STATUS_INVALID_ARGUMENT);
    CHECK(host->releases == 0); /* a failed new never releases the host's user_data */
    CHECK_STATUS(mss_time_zones(NULL, NULL), MSS_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(mss_test_store_conformance(NULL, NULL), MSS_STATUS_INVALID_ARGUMENT);
    MssBuffer out = {0};
    CHECK_STATUS(mss_test_http_send(NULL, SPAN("{}"), &out, NULL), MSS_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(mss_http_complete(NULL, 1, NULL, NULL), MSS_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(mss_store_reply_set_value(NULL, NULL, 0, 1, NULL), MSS_STATUS_INVALID_ARGUMENT);
    host_free(host);
}

static void bad_config_is_refused(void) {
    Host *host = host_new();
    MssHostVtable v = vtable_of(host);
    MssEngine *engine = NULL;
    MssError *error = NULL;
    CHECK_STATUS(mss_engine_new(&v, SPAN("{not json"), &engine, &error), MSS_STATUS_INVALID_JSON);
    CHECK(engine == NULL && error && error->code == MSS_STATUS_INVALID_JSON);
    mss_error_free(error);
    CHECK_STATUS(mss_engine_new(&v, SPAN("[1]"), &engine, NULL), MSS_STATUS_INVALID_JSON);
    CHECK_STATUS(mss_engine_new(&v, SPAN("{\"no_such_setting\":1}"), &engine, NULL), MSS_STATUS_INVALID_JSON);
    const char bad_utf8[] = {'{', (char)0xC3, (char)0x28, '}'};
    CHECK_STATUS(mss_engine_new(&v, (const uint8_t *)bad_utf8, sizeof bad_utf8, &engine, &error),
                 MSS_STATUS_INVALID_ARGUMENT);
    CHECK(error && strstr(error->message, "UTF-8") != NULL);
    mss_error_free(error);
    CHECK(host->releases == 0);
    CHECK_STATUS(mss_engine_new(&v, NULL, 0, &engine, NULL), 0); /* empty config: defaults */
    host->engine = engine;
    host_free(host);
}

static void release_is_called_exactly_once(void) {
    Host *host = host_new();
    engine_new(host);
    CHECK(host->releases == 0);
    mss_engine_free(host->engine);
    CHECK(host->releases == 1);
    host->engine = NULL;
    host_free(host);
}

static void c_store_passes_conformance_through_the_abi(void) {
    Host *host = host_new();
    MssEngine *engine = engine_new(host);
    MssError *error = NULL;
    CHECK_STATUS(mss_test_store_conformance(engine, &error), 0);
    if (error) fprintf(stderr, "    %s\n", error->message);
    mss_error_free(error);
    host_free(host);
}

static void broken_store_fails_conformance(void) {
    Host *host = host_new();
    host->store.ignore_expectations = 1;
    MssEngine *engine = engine_new(host);
    MssError *error = NULL;
    CHECK_STATUS(mss_test_store_conformance(engine, &error), MSS_STATUS_STORE_FAILURE);
    CHECK(error && error->is_panic == 0 && strstr(error->message, "conformance") != NULL);
    mss_error_free(error);
    host_free(host);
}

static int32_t http_get(MssEngine *engine, const char *path, MssBuffer *out, MssError **error) {
    char json[512];
    snprintf(json, sizeof json,
             "{\"method\":\"GET\",\"url\":\"%s%s\",\"headers\":[[\"Accept\",\"text/plain\"]],\"timeout_ms\":10000}",
             base_url(), path);
    return mss_test_http_send(engine, SPAN(json), out, error);
}

static void check_hello(MssBuffer *out) {
    char *json = copy_span(out->ptr, out->len);
    CHECK(strstr(json, "\"status\":200") != NULL);
    CHECK(strstr(json, "hello from the loopback server") != NULL);
    free(json);
}

static void http_completed_from_another_thread(void) {
    Host *host = host_new();
    MssEngine *engine = engine_new(host);
    MssBuffer out = {0};
    MssError *error = NULL;
    CHECK_STATUS(http_get(engine, "/hello.txt", &out, &error), 0);
    if (error) fprintf(stderr, "    %s\n", error->message);
    check_hello(&out);
    mss_buffer_free(&out);
    mss_error_free(error);
    CHECK(host->thread_count == 1);
    host_free(host);
}

static void http_completed_before_send_returns(void) {
    Host *host = host_new();
    host->complete_inline = 1;
    MssEngine *engine = engine_new(host);
    MssBuffer out = {0};
    CHECK_STATUS(http_get(engine, "/hello.txt", &out, NULL), 0);
    check_hello(&out);
    mss_buffer_free(&out);
    CHECK(host->thread_count == 0);
    host_free(host);
}

static void http_status_404_is_a_response(void) {
    Host *host = host_new();
    MssEngine *engine = engine_new(host);
    MssBuffer out = {0};
    CHECK_STATUS(http_get(engine, "/missing.txt", &out, NULL), 0);
    char *json = copy_span(out.ptr, out.len);
    CHECK(strstr(json, "\"status\":404") != NULL);
    free(json);
    mss_buffer_free(&out);
    host_free(host);
}

typedef struct Caller { MssEngine *engine; int ok; } Caller;

static void *call_from_thread(void *arg) {
    Caller *c = arg;
    c->ok = 1;
    for (int i = 0; i < 3; i++) {
        MssBuffer out = {0};
        if (http_get(c->engine, "/hello.txt", &out, NULL) != 0) c->ok = 0;
        else {
            char *json = copy_span(out.ptr, out.len);
            if (!strstr(json, "hello from the loopback server")) c->ok = 0;
            free(json);
        }
        mss_buffer_free(&out);
    }
    return NULL;
}

static void engine_calls_from_several_threads(void) {
    Host *host = host_new();
    MssEngine *engine = engine_new(host);
    pthread_t threads[4];
    Caller callers[4];
    for (int i = 0; i < 4; i++) {
        callers[i] = (Caller){engine, 0};
        pthread_create(&threads[i], NULL, call_from_thread, &callers[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK(callers[i].ok);
    }
    CHECK(host->thread_count == 12);
    host_free(host);
}

static void transport_failures_come_back_as_statuses(void) {
    Host *host = host_new();
    MssEngine *engine = engine_new(host);
    MssBuffer out = {0};
    MssError *error = NULL;
    /* Nothing listens on port 1: curl fails to connect and the host calls mss_http_fail. */
    CHECK_STATUS(mss_test_http_send(engine, SPAN("{\"method\":\"GET\",\"url\":\"http://127.0.0.1:1/\"}"), &out,
                                    &error),
                 MSS_STATUS_TRANSPORT_FAILURE);
    CHECK(out.ptr == NULL && error != NULL);
    mss_error_free(error);
    host->refuse_requests = 1;
    CHECK_STATUS(http_get(engine, "/hello.txt", &out, NULL), MSS_STATUS_TRANSPORT_FAILURE);
    host_free(host);
}

static void unknown_request_ids_are_not_found(void) {
    Host *host = host_new();
    MssEngine *engine = engine_new(host);
    MssHttpResponse response = {200, NULL, 0, NULL, 0};
    MssError *error = NULL;
    CHECK_STATUS(mss_http_complete(engine, 424242, &response, &error), MSS_STATUS_NOT_FOUND);
    CHECK(error && error->code == MSS_STATUS_NOT_FOUND);
    mss_error_free(error);
    CHECK_STATUS(mss_http_fail(engine, 424242, MSS_TRANSPORT_ERROR_KIND_HOST, NULL, 0, NULL), MSS_STATUS_NOT_FOUND);
    CHECK_STATUS(mss_http_fail(engine, 1, 99, NULL, 0, NULL), MSS_STATUS_INVALID_ARGUMENT);
    /* An id that was answered once is no longer waiting. */
    MssBuffer out = {0};
    CHECK_STATUS(http_get(engine, "/hello.txt", &out, NULL), 0);
    mss_buffer_free(&out);
    CHECK_STATUS(mss_http_complete(engine, 1, &response, NULL), MSS_STATUS_NOT_FOUND);
    host_free(host);
}

static void bad_test_request_json_is_refused(void) {
    Host *host = host_new();
    MssEngine *engine = engine_new(host);
    MssBuffer out = {0};
    CHECK_STATUS(mss_test_http_send(engine, SPAN("{\"method\":\"FETCH\"}"), &out, NULL), MSS_STATUS_INVALID_JSON);
    const char bad_utf8[] = {(char)0xFF};
    CHECK_STATUS(mss_test_http_send(engine, (const uint8_t *)bad_utf8, 1, &out, NULL), MSS_STATUS_INVALID_ARGUMENT);
    CHECK(host->thread_count == 0);
    host_free(host);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    run("abi_version_matches_header", abi_version_matches_header);
    run("status_names_are_stable", status_names_are_stable);
    run("time_zones_list_windows_display_names", time_zones_list_windows_display_names);
    run("frees_accept_null", frees_accept_null);
    run("forced_panic_is_a_status_not_an_abort", forced_panic_is_a_status_not_an_abort);
    run("null_arguments_are_invalid_arguments", null_arguments_are_invalid_arguments);
    run("bad_config_is_refused", bad_config_is_refused);
    run("release_is_called_exactly_once", release_is_called_exactly_once);
    run("c_store_passes_conformance_through_the_abi", c_store_passes_conformance_through_the_abi);
    run("broken_store_fails_conformance", broken_store_fails_conformance);
    run("http_completed_from_another_thread", http_completed_from_another_thread);
    run("http_completed_before_send_returns", http_completed_before_send_returns);
    run("http_status_404_is_a_response", http_status_404_is_a_response);
    run("engine_calls_from_several_threads", engine_calls_from_several_threads);
    run("transport_failures_come_back_as_statuses", transport_failures_come_back_as_statuses);
    run("unknown_request_ids_are_not_found", unknown_request_ids_are_not_found);
    run("bad_test_request_json_is_refused", bad_test_request_json_is_refused);
    curl_global_cleanup();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
