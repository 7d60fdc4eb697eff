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
        if (getenv("MSS_DEBUG_HTTP") && status >= 400) fprintf(stderr, "DEBUG %s %s -> %ld %.*s\n", x->method, x->url, status, (int)x->response_len, x->response_body ? x->response_body : "");
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
        /* Bearer tokens are long: size the line to the header. */
        size_t size = h->name_len + h->value_len + 3;
        char *line = malloc(size);
        snprintf(line, size, "%.*s: %.*s", (int)h->name_len, (const char *)h->name,
                 (int)h->value_len, (const char *)h->value);
        x->request_headers = curl_slist_append(x->request_headers, line);
        free(line);
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
    /* Credentials go only over TLS, or to this machine: a plain-http endpoint elsewhere is
     * refused before the engine exists (and before it owns user_data). */
    const char *insecure =
        "{\"authority\":\"https://login.microsoftonline.com\","
        "\"graph_base_url\":\"http://graph.microsoft.com/v1.0\","
        "\"erp_base_url\":\"https://acme.my.erp.net/api/domain/odata/\","
        "\"erp_access\":{\"kind\":\"host\"},\"redirect_uri\":\"https://erp.example/signin\","
        "\"sealing_key\":\"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\"}";
    CHECK_STATUS(mss_engine_new(&v, SPAN(insecure), &engine, &error), MSS_STATUS_INVALID_ARGUMENT);
    CHECK(engine == NULL && error && strstr(error->message, "graph_base_url") != NULL);
    mss_error_free(error);
    error = NULL;
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

/* A body longer than the engine's max_response_bytes is refused by mss_http_complete: the
 * request fails instead of the engine holding whatever a server sent. */
static void a_body_over_the_limit_is_refused(void) {
    Host *host = host_new();
    MssHostVtable v = vtable_of(host);
    CHECK_STATUS(mss_engine_new(&v, SPAN("{\"max_response_bytes\":16}"), &host->engine, NULL), 0);
    MssBuffer out = {0};
    MssError *error = NULL;
    int32_t status = http_get(host->engine, "/hello.txt", &out, &error);
    CHECK(status == MSS_STATUS_TRANSPORT_FAILURE);
    mss_error_free(error);
    mss_buffer_free(&out);
    host_free(host);
    /* Within the limit (the default), the same body arrives. */
    host = host_new();
    MssEngine *engine = engine_new(host);
    CHECK_STATUS(http_get(engine, "/hello.txt", &out, NULL), 0);
    check_hello(&out);
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


/* ---- the application layer through the ABI ------------------------------------------------ */

#define ACTOR_HOST "{\"kind\":\"host\"}"
#define SEALING_KEY "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=" /* base64 of 32 bytes */

/* The string value of "key" in flat JSON without escapes in the value (enough for the fixture
 * values and views these tests read), or NULL. The caller frees it. */
static char *json_string(const char *json, const char *key) {
    char needle[128];
    snprintf(needle, sizeof needle, "\"%s\":\"", key);
    const char *start = json ? strstr(json, needle) : NULL;
    if (!start) return NULL;
    start += strlen(needle);
    const char *end = strchr(start, '"');
    return end ? copy_span((const uint8_t *)start, (size_t)(end - start)) : NULL;
}

/* The text of the array under "key" (strings without brackets inside), or NULL. */
static char *json_array(const char *json, const char *key) {
    char needle[128];
    snprintf(needle, sizeof needle, "\"%s\":[", key);
    const char *start = json ? strstr(json, needle) : NULL;
    if (!start) return NULL;
    start += strlen(needle);
    const char *end = strchr(start, ']');
    return end ? copy_span((const uint8_t *)start, (size_t)(end - start)) : NULL;
}

static char *buffer_text(MssBuffer *out) {
    char *text = copy_span(out->ptr, out->len);
    mss_buffer_free(out);
    return text;
}

/* Reports a failed call's error and frees it. */
static void report(MssError *error) {
    if (error) fprintf(stderr, "    error %d (%s): %s\n", error->code, mss_status_name(error->code), error->message);
    mss_error_free(error);
}

/* The host's endpoint hands Graph's request over as received and sends back what the engine
 * decided: the validation token echoed as text/plain; a notification for no known subscription
 * answered 202 with nothing due; a body that is no notification collection refused. */
static void notifications_are_answered_as_the_engine_decides(void) {
    Host *host = host_new();
    MssEngine *engine = engine_new(host);
    MssBuffer out = {0};
    MssError *error = NULL;
    const char *validation = "{\"query\":\"validationToken=Validation%3A%20Testing\",\"content_type\":\"text/plain\",\"body\":\"\"}";
    CHECK_STATUS(mss_notification_receive(engine, SPAN(validation), &out, &error), 0);
    char *answer = buffer_text(&out);
    CHECK(answer && strstr(answer, "\"status\":200") != NULL);
    char *content_type = json_string(answer, "content_type");
    char *body = json_string(answer, "body");
    CHECK(content_type && strcmp(content_type, "text/plain") == 0);
    CHECK(body && strcmp(body, "Validation: Testing") == 0);
    free(content_type);
    free(body);
    free(answer);

    const char *unknown = "{\"query\":\"\",\"content_type\":\"application/json\",\"body\":\"{\\\"value\\\":[{\\\"subscriptionId\\\":\\\"x\\\",\\\"clientState\\\":\\\"y\\\",\\\"changeType\\\":\\\"updated\\\"}]}\"}";
    CHECK_STATUS(mss_notification_receive(engine, SPAN(unknown), &out, &error), 0);
    report(error);
    answer = buffer_text(&out);
    CHECK(answer && strstr(answer, "\"status\":202") != NULL);
    CHECK(answer && strstr(answer, "unknown subscriptions") != NULL);
    free(answer);
    CHECK_STATUS(mss_jobs_due(engine, &out, NULL), 0);
    answer = buffer_text(&out);
    CHECK(answer && strcmp(answer, "[]") == 0);
    free(answer);

    CHECK_STATUS(mss_notification_receive(engine, SPAN("{\"body\":\"not json\"}"), &out, NULL), 0);
    answer = buffer_text(&out);
    CHECK(answer && strstr(answer, "\"status\":400") != NULL);
    free(answer);
    CHECK_STATUS(mss_notification_receive(engine, SPAN("{\"body\":"), &out, NULL), MSS_STATUS_INVALID_JSON);
    host_free(host);
}

/* The simulators' endpoints and fixture (one JSON line from the mssync-sims binary). */
static const char *sims(void) {
    const char *json = getenv("MSS_SIMS_JSON");
    return json ? json : "";
}

static char *sim(const char *key) {
    char *value = json_string(sims(), key);
    if (!value) {
        fprintf(stderr, "    the simulators gave no \"%s\" (is MSS_SIMS_JSON set?)\n", key);
        current_ok = 0;
        value = copy_span((const uint8_t *)"", 0);
    }
    return value;
}

static char *app_config(void) {
    char *authority = sim("authority"), *graph = sim("graph_base_url"), *erp = sim("erp_base_url"),
         *identity = sim("erp_identity_base"), *erp_client = sim("erp_client_id"),
         *erp_secret = sim("erp_client_secret"), *redirect = sim("redirect_uri");
    char *config = malloc(4096);
    snprintf(config, 4096,
             "{\"authority\":\"%s\",\"graph_base_url\":\"%s\",\"erp_base_url\":\"%s\","
             "\"erp_access\":{\"kind\":\"trusted_app\",\"identity_base\":\"%s\",\"client_id\":\"%s\","
             "\"client_secret\":\"%s\"},\"redirect_uri\":\"%s\",\"runner_id\":\"c-host\","
             "\"sealing_key\":\"" SEALING_KEY "\"}",
             authority, graph, erp, identity, erp_client, erp_secret, redirect);
    free(authority); free(graph); free(erp); free(identity); free(erp_client); free(erp_secret); free(redirect);
    return config;
}

/* GET without following redirects, as a browser's first hop: the Location header (or body). */
static char *browser_get(const char *url, long *status, int want_location) {
    Exchange *x = calloc(1, sizeof *x);
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    char *result = NULL;
    *status = 0;
    if (curl_easy_perform(curl) == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
        if (want_location) {
            char *location = NULL;
            curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location);
            if (location) result = copy_span((const uint8_t *)location, strlen(location));
        } else {
            result = copy_span((const uint8_t *)(x->response_body ? x->response_body : ""), x->response_len);
        }
    }
    curl_easy_cleanup(curl);
    exchange_free(x);
    return result;
}

/* POST with an empty body (a simulator's control): the status. */
static long control_post(const char *url) {
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    return status;
}

/* A query parameter of a URL, percent-decoded, or NULL. */
static char *query_param(const char *url, const char *name) {
    const char *query = url ? strchr(url, '?') : NULL;
    size_t name_len = strlen(name);
    for (const char *p = query; p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, name, name_len) == 0 && p[1 + name_len] == '=') {
            const char *value = p + 2 + name_len;
            size_t len = strcspn(value, "&#");
            int out_len = 0;
            char *decoded = curl_easy_unescape(NULL, value, (int)len, &out_len);
            char *copy = copy_span((const uint8_t *)decoded, (size_t)out_len);
            curl_free(decoded);
            return copy;
        }
    }
    return NULL;
}

static MssEngine *app_engine_new(Host *host) {
    char *config = app_config();
    MssHostVtable v = vtable_of(host);
    MssError *error = NULL;
    CHECK_STATUS(mss_engine_new(&v, SPAN(config), &host->engine, &error), 0);
    report(error);
    free(config);
    return host->engine;
}

/* Admin: Service settings, admin consent in the "browser", Connect, Give permissions, domain. */
static void connect_tenant(MssEngine *engine) {
    char *tenant = sim("tenant_id"), *client = sim("client_id"), *secret = sim("client_secret"),
         *admin = sim("admin_oid"), *domain = sim("domain");
    char change[1024];
    snprintf(change, sizeof change,
             "{\"tenant_id\":\"%s\",\"client_id\":\"%s\",\"mode\":\"application\","
             "\"credential\":{\"kind\":\"secret\",\"secret\":\"%s\"}}",
             tenant, client, secret);
    MssBuffer out = {0};
    MssError *error = NULL;
    CHECK_STATUS(mss_service_set(engine, SPAN(ACTOR_HOST), SPAN(change), &out, &error), 0);
    report(error);
    char *view = buffer_text(&out);
    CHECK(strstr(view, "\"credential\":\"secret\"") != NULL);
    CHECK(strstr(view, secret) == NULL); /* the secret is never shown back */
    free(view);

    CHECK_STATUS(mss_service_consent_url(engine, SPAN(ACTOR_HOST), &out, NULL), 0);
    char *consent = buffer_text(&out);
    char *url = json_string(consent, "url");
    long status = 0;
    char *back = browser_get(url ? url : "", &status, 1);
    CHECK(status == 302);
    char *granted = query_param(back, "admin_consent");
    CHECK(granted && strcmp(granted, "True") == 0);
    free(granted); free(back); free(url); free(consent);

    CHECK_STATUS(mss_service_connect(engine, SPAN(ACTOR_HOST), SPAN(admin), &out, &error), 0);
    report(error);
    char *connect = buffer_text(&out);
    CHECK(strstr(connect, "\"token\":true,\"graph\":true,\"mail\":true,\"missing\":[]") != NULL);
    free(connect);

    CHECK_STATUS(mss_service_give_permissions(engine, SPAN(ACTOR_HOST), &out, &error), 0);
    report(error);
    char *permissions = buffer_text(&out);
    CHECK(strstr(permissions, "\"can_read_activities\":true") != NULL);
    CHECK(strstr(permissions, "\"missing\":[]") != NULL);
    free(permissions);

    CHECK_STATUS(mss_service_grant_domain(engine, SPAN(ACTOR_HOST), SPAN(domain), &out, &error), 0);
    report(error);
    view = buffer_text(&out);
    CHECK(strstr(view, domain) != NULL);
    free(view);
    free(tenant); free(client); free(secret); free(admin); free(domain);
}

/* Sign-in: the "browser" follows the authorize URL to the redirect with code and state. */
static char *sign_in(MssEngine *engine, const char *email) {
    MssBuffer out = {0};
    MssError *error = NULL;
    CHECK_STATUS(mss_signin_begin(engine, SPAN(email), SPAN("c-browser-session"), &out, &error), 0);
    report(error);
    char *start = buffer_text(&out);
    char *url = json_string(start, "authorize_url");
    long status = 0;
    char *back = browser_get(url ? url : "", &status, 1);
    CHECK(status == 302);
    char *code = query_param(back, "code"), *state = query_param(back, "state");
    CHECK(code && state);
    char *user_id = NULL;
    if (code && state) {
        CHECK_STATUS(mss_signin_complete(engine, SPAN(state), SPAN(code), SPAN("c-browser-session"), &out, &error), 0);
        report(error);
        char *session = buffer_text(&out);
        CHECK(strstr(session, "\"is_admin\":false") != NULL);
        user_id = json_string(session, "user_id");
        free(session);
    }
    free(code); free(state); free(back); free(url); free(start);
    return user_id;
}

static void set_up(MssEngine *engine, const char *user) {
    char *company = sim("company_id"), *location = sim("location_id");
    MssBuffer out = {0};
    MssError *error = NULL;
    CHECK_STATUS(mss_setup_options(engine, SPAN(user), &out, &error), 0);
    report(error);
    char *options = buffer_text(&out);
    CHECK(strstr(options, company) != NULL && strstr(options, location) != NULL);
    free(options);
    CHECK_STATUS(mss_setup_set_company(engine, SPAN(user), SPAN(company), SPAN(location), &out, &error), 0);
    report(error);
    mss_buffer_free(&out);
    CHECK_STATUS(mss_setup_change(engine, SPAN(user), SPAN("{\"time_zone\":\"FLE Standard Time\"}"), &out, &error), 0);
    report(error);
    mss_buffer_free(&out);
    CHECK_STATUS(mss_setup_set_job(engine, SPAN(user), SPAN("calendar"), 1, &out, &error), 0);
    report(error);
    char *setup = buffer_text(&out);
    CHECK(strstr(setup, "\"time_zone_iana\":\"Europe/") != NULL);
    CHECK(strstr(setup, "\"job\":\"calendar\",\"title\":\"Calendar\",\"enabled\":true") != NULL);
    free(setup);
    free(company); free(location);
}

static char *run_calendar(MssEngine *engine, const char *user) {
    MssBuffer out = {0};
    MssError *error = NULL;
    CHECK_STATUS(mss_job_run(engine, SPAN(user), SPAN("calendar"), 0, &out, &error), 0);
    report(error);
    return buffer_text(&out);
}

/* The whole product from C over real HTTP (libcurl) to the three simulators. */
static void whole_flow_syncs_both_ways(void) {
    Host *host = host_new();
    host->complete_inline = 1;
    MssEngine *engine = app_engine_new(host);
    char *email = sim("alice_email"), *activity = sim("activity_subject"), *event = sim("event_subject"),
         *inspect_url = sim("inspect_url");
    connect_tenant(engine);
    char *user = sign_in(engine, email);
    CHECK(user != NULL);
    if (user) {
        set_up(engine, user);
        MssBuffer out = {0};
        CHECK_STATUS(mss_jobs_due(engine, &out, NULL), 0);
        char *due = buffer_text(&out);
        CHECK(strstr(due, user) != NULL && strstr(due, "\"job\":\"calendar\"") != NULL);
        /* The scheduler's path: the one due job (a flat object) handed back is claimed and run. */
        MssError *error = NULL;
        char *open = strchr(due, '{'), *close = strchr(due, '}');
        CHECK(open != NULL && close != NULL);
        size_t due_job_len = (size_t)(close - open + 1);
        CHECK_STATUS(mss_job_run_due(engine, (const uint8_t *)open, due_job_len, &out, &error), 0);
        report(error);
        char *first = buffer_text(&out);
        /* Handed back again it is no longer due: every node holding the list gets null. */
        CHECK_STATUS(mss_job_run_due(engine, (const uint8_t *)open, due_job_len, &out, &error), 0);
        report(error);
        char *again = buffer_text(&out);
        CHECK(again && strcmp(again, "null") == 0);
        free(again);
        free(due);

        CHECK(strstr(first, "\"to_outlook\":{\"created\":1,") != NULL);
        CHECK(strstr(first, "\"to_erp\":{\"created\":1,") != NULL);
        free(first);

        /* What each side holds now, read from the simulators over HTTP. */
        long status = 0;
        char *items = browser_get(inspect_url, &status, 0);
        CHECK(status == 200 && items);
        char *outlook = json_array(items, "outlook"), *erp = json_array(items, "erp");
        CHECK(outlook && strstr(outlook, activity) && strstr(outlook, event));
        CHECK(erp && strstr(erp, activity) && strstr(erp, event));
        free(outlook); free(erp);
        free(items);

        char *second = run_calendar(engine, user);
        CHECK(strstr(second, "\"to_outlook\":{\"created\":0,\"updated\":0,\"removed\":0}") != NULL);
        CHECK(strstr(second, "\"to_erp\":{\"created\":0,\"updated\":0,\"removed\":0}") != NULL);
        free(second);

        /* The Mail job by its id: the message in Alice's Inbox reaches her ERP.net mailbox, and
           once read in ERP.net it is read in Outlook. */
        char *message = sim("message_subject"), *control_url = sim("control_url");
        CHECK_STATUS(mss_setup_set_job(engine, SPAN(user), SPAN("mail"), 1, &out, &error), 0);
        report(error);
        mss_buffer_free(&out);
        CHECK_STATUS(mss_job_run(engine, SPAN(user), SPAN("mail"), 0, &out, &error), 0);
        report(error);
        char *mail_first = buffer_text(&out);
        CHECK(strstr(mail_first, "\"to_erp\":{\"created\":1,") != NULL);
        free(mail_first);
        char *mail_items = browser_get(inspect_url, &status, 0);
        char *mail_erp = json_array(mail_items, "mail_erp");
        CHECK(mail_erp && strstr(mail_erp, message) && strstr(mail_erp, "\"read\":false"));
        free(mail_erp); free(mail_items);
        char read_url[512];
        snprintf(read_url, sizeof read_url, "%s/mail/read-in-erp", control_url);
        CHECK(control_post(read_url) == 204);
        CHECK_STATUS(mss_job_run(engine, SPAN(user), SPAN("mail"), 0, &out, &error), 0);
        report(error);
        char *mail_second = buffer_text(&out);
        CHECK(strstr(mail_second, "\"to_outlook\":{\"created\":0,\"updated\":1,") != NULL);
        free(mail_second);
        mail_items = browser_get(inspect_url, &status, 0);
        char *mail_outlook = json_array(mail_items, "mail_outlook");
        CHECK(mail_outlook && strstr(mail_outlook, message) && strstr(mail_outlook, "\"read\":true"));
        free(mail_outlook); free(mail_items); free(message); free(control_url);

        CHECK_STATUS(mss_home_get(engine, SPAN(user), &out, NULL), 0);
        char *home = buffer_text(&out);
        CHECK(strstr(home, "\"state\":\"Operational\"") != NULL);
        CHECK(strstr(home, email) != NULL);
        CHECK(strstr(home, "\"remote_checkpoint\":\"") != NULL);
        free(home);

        CHECK_STATUS(mss_events_poll(engine, 1000, &out, NULL), 0);
        char *events = buffer_text(&out);
        CHECK(strstr(events, "\"kind\":\"log\"") != NULL);
        CHECK(strstr(events, "\"kind\":\"run\"") != NULL);
        CHECK(strstr(events, "\"created\":1") != NULL);
        free(events);
        CHECK_STATUS(mss_events_poll(engine, 1000, &out, NULL), 0);
        events = buffer_text(&out);
        CHECK(strcmp(events, "[]") == 0); /* taken once */
        free(events);
    }
    free(user); free(email); free(activity); free(event); free(inspect_url);
    host_free(host);
}

static void app_functions_refuse_bad_input(void) {
    Host *host = host_new();
    MssEngine *engine = engine_new(host); /* no endpoints: not configured */
    MssBuffer out = {0};
    MssError *error = NULL;
    const char bad_utf8[] = {'a', (char)0xC3, (char)0x28};
    CHECK_STATUS(mss_service_get(NULL, SPAN(ACTOR_HOST), &out, NULL), MSS_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(mss_service_get(engine, SPAN(ACTOR_HOST), NULL, NULL), MSS_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(mss_service_get(engine, SPAN("{\"kind\":"), &out, &error), MSS_STATUS_INVALID_JSON);
    CHECK(error && error->code == MSS_STATUS_INVALID_JSON);
    mss_error_free(error);
    CHECK_STATUS(mss_service_get(engine, (const uint8_t *)bad_utf8, sizeof bad_utf8, &out, NULL),
                 MSS_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(mss_service_set(engine, SPAN(ACTOR_HOST), SPAN("{\"mode\":\"sideways\"}"), &out, NULL),
                 MSS_STATUS_INVALID_JSON);
    CHECK_STATUS(mss_service_set(engine, SPAN(ACTOR_HOST), NULL, 3, &out, NULL), MSS_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(mss_service_consent_url(engine, SPAN(ACTOR_HOST), &out, NULL), MSS_STATUS_NOT_CONFIGURED);
    CHECK_STATUS(mss_signin_begin(engine, NULL, 0, SPAN("b"), &out, &error), MSS_STATUS_NOT_CONFIGURED);
    CHECK(error && error->is_panic == 0);
    mss_error_free(error);
    CHECK_STATUS(mss_signin_complete(engine, (const uint8_t *)bad_utf8, sizeof bad_utf8, SPAN("c"), SPAN("b"), &out, NULL),
                 MSS_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(mss_signin_fail(engine, SPAN("s"), SPAN("access_denied"),
                                 SPAN("AADSTS50020: User account from identity provider 'live.com' does not exist"),
                                 &error),
                 MSS_STATUS_PERSONAL_ACCOUNT);
    CHECK(error && error->message_len > 0);
    mss_error_free(error);
    CHECK_STATUS(mss_signin_fail(NULL, SPAN("s"), SPAN("e"), SPAN("d"), NULL), MSS_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(mss_session_check(engine, SPAN("local"), NULL), MSS_STATUS_LOCAL_CREDENTIALS);
    CHECK_STATUS(mss_session_check(engine, SPAN("microsoft"), NULL), 0);
    CHECK_STATUS(mss_setup_get(engine, NULL, 0, &out, NULL), MSS_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(mss_setup_get(engine, SPAN("nobody"), &out, NULL), MSS_STATUS_NOT_FOUND);
    CHECK_STATUS(mss_setup_change(engine, SPAN("nobody"), SPAN("{\"time_zone\":"), &out, NULL), MSS_STATUS_INVALID_JSON);
    CHECK_STATUS(mss_setup_set_job(engine, SPAN("nobody"), SPAN("payroll"), 1, &out, NULL), MSS_STATUS_UNKNOWN_JOB);
    CHECK_STATUS(mss_setup_set_job(engine, SPAN("nobody"), SPAN("calendar"), 2, &out, NULL),
                 MSS_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(mss_setup_full_refresh(engine, SPAN("nobody"), (const uint8_t *)bad_utf8, sizeof bad_utf8, &out, NULL),
                 MSS_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(mss_home_get(engine, SPAN("nobody"), &out, NULL), MSS_STATUS_NOT_FOUND);
    CHECK_STATUS(mss_job_run(engine, SPAN("nobody"), SPAN("calendar"), 7, &out, NULL), MSS_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(mss_job_run(NULL, SPAN("nobody"), SPAN("calendar"), 0, &out, NULL), MSS_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(mss_job_run_due(engine, SPAN("{\"user_id\":\"nobody\"}"), &out, NULL), MSS_STATUS_INVALID_JSON);
    CHECK_STATUS(mss_job_run_due(engine, SPAN("{\"user_id\":\"nobody\",\"job\":\"no_such_job\",\"due_since\":\"2026-01-01T00:00:00Z\"}"), &out, NULL),
                 MSS_STATUS_INVALID_JSON);
    CHECK(out.ptr == NULL && out.len == 0); /* failures leave the output empty */
    /* A job that is not due (the user never signed in) is not this node's to run. */
    CHECK_STATUS(mss_job_run_due(engine, SPAN("{\"user_id\":\"nobody\",\"job\":\"calendar\",\"due_since\":\"2026-01-01T00:00:00Z\"}"), &out, NULL), 0);
    char *not_due = buffer_text(&out);
    CHECK(strcmp(not_due, "null") == 0);
    free(not_due);
    CHECK_STATUS(mss_jobs_due(engine, &out, NULL), 0);
    char *due = buffer_text(&out);
    CHECK(strcmp(due, "[]") == 0);
    free(due);
    CHECK_STATUS(mss_events_poll(engine, 10, NULL, NULL), MSS_STATUS_INVALID_ARGUMENT);
    CHECK(host->thread_count == 0);
    host_free(host);

    /* A config with some application settings must have all of them and a 32-byte key. */
    host = host_new();
    MssHostVtable v = vtable_of(host);
    MssEngine *none = NULL;
    CHECK_STATUS(mss_engine_new(&v, SPAN("{\"authority\":\"http://127.0.0.1:1\"}"), &none, &error),
                 MSS_STATUS_INVALID_JSON);
    CHECK(none == NULL && error && strstr(error->message, "lacks") != NULL);
    mss_error_free(error);
    CHECK(host->releases == 0);
    host_free(host);
}

/* A run that cannot start (no company chosen) is an error on Home, a run event with its code, and
 * one notification, delivered once. */
static void failed_run_is_an_event_and_a_notification(void) {
    Host *host = host_new();
    host->complete_inline = 1;
    MssEngine *engine = app_engine_new(host);
    char *email = sim("alice_email");
    connect_tenant(engine);
    char *user = sign_in(engine, email);
    CHECK(user != NULL);
    if (user) {
        MssBuffer out = {0};
        MssError *error = NULL;
        CHECK_STATUS(mss_setup_set_job(engine, SPAN(user), SPAN("calendar"), 1, &out, NULL), 0);
        mss_buffer_free(&out);
        CHECK_STATUS(mss_job_run(engine, SPAN(user), SPAN("calendar"), 0, &out, &error),
                     MSS_STATUS_NO_ENTERPRISE_COMPANY);
        CHECK(error && error->is_panic == 0 && out.ptr == NULL);
        mss_error_free(error);
        CHECK_STATUS(mss_home_get(engine, SPAN(user), &out, NULL), 0);
        char *home = buffer_text(&out);
        CHECK(strstr(home, "\"state\":\"Error") != NULL);
        free(home);
        CHECK_STATUS(mss_events_poll(engine, 1000, &out, NULL), 0);
        char *events = buffer_text(&out);
        CHECK(strstr(events, "\"kind\":\"run\"") != NULL);
        CHECK(strstr(events, "\"report\":null,\"code\":603") != NULL);
        CHECK(strstr(events, "\"kind\":\"notification\"") != NULL);
        CHECK(strstr(events, "MS Sync experienced an error") != NULL);
        free(events);
        CHECK_STATUS(mss_events_poll(engine, 1000, &out, NULL), 0);
        events = buffer_text(&out);
        CHECK(strcmp(events, "[]") == 0);
        free(events);
    }
    free(user); free(email);
    host_free(host);
}

/* A secret typed into the wrong field never comes back in MssError.message, which the header
 * documents as safe to log: argument errors name the field and the expected shape only. */
static void argument_errors_never_echo_a_value(void) {
    Host *host = host_new();
    MssEngine *engine = engine_new(host);
    MssBuffer out = {0};
    const char *bad[] = {
        "{\"mode\":\"hunter2-secret\"}",
        "{\"tenant_id\":7,\"client_id\":\"hunter2-secret\",\"mode\":42}",
        "{\"credential\":{\"kind\":\"hunter2-secret\"}}",
        "{\"credential\":{\"kind\":\"secret\",\"secret\":12345678901234}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        MssError *error = NULL;
        CHECK_STATUS(mss_service_set(engine, SPAN(ACTOR_HOST), (const uint8_t *)bad[i], strlen(bad[i]), &out, &error),
                     MSS_STATUS_INVALID_JSON);
        CHECK(error != NULL);
        if (error) {
            char message[512] = {0};
            size_t n = error->message_len < sizeof message - 1 ? error->message_len : sizeof message - 1;
            memcpy(message, error->message, n);
            CHECK(strstr(message, "hunter2") == NULL && strstr(message, "12345678901234") == NULL);
            CHECK(strstr(message, "expected") != NULL);
        }
        mss_error_free(error);
    }
    MssError *error = NULL;
    MssEngine *none = NULL;
    CHECK_STATUS(mss_engine_new(NULL, SPAN("{}"), &none, NULL), MSS_STATUS_INVALID_ARGUMENT);
    MssHostVtable v = vtable_of(host);
    CHECK_STATUS(mss_engine_new(&v, SPAN("{\"sealing_key\": 99999999999, \"runner_id\": \"x\"}"), &none, &error),
                 MSS_STATUS_INVALID_JSON);
    if (error) {
        char message[512] = {0};
        size_t n = error->message_len < sizeof message - 1 ? error->message_len : sizeof message - 1;
        memcpy(message, error->message, n);
        CHECK(strstr(message, "99999999999") == NULL);
    }
    mss_error_free(error);
    host_free(host);
}

/* The panels' operations of the signed-in user: the host names the user from its session; a
 * request naming another user or an actor is refused and changes nothing. */
static void user_api_acts_for_the_named_user_only(void) {
    Host *host = host_new();
    host->complete_inline = 1;
    MssEngine *engine = app_engine_new(host);
    char *alice_email = sim("alice_email"), *second_email = sim("second_email");
    connect_tenant(engine);
    char *alice = sign_in(engine, alice_email);
    char *second = sign_in(engine, second_email);
    CHECK(alice != NULL && second != NULL);
    if (alice && second) {
        MssBuffer out = {0};
        MssError *error = NULL;
        CHECK_STATUS(mss_user_api(engine, SPAN(second), SPAN("home"), NULL, 0, &out, &error), 0);
        report(error);
        char *home = buffer_text(&out);
        CHECK(strstr(home, second_email) != NULL && strstr(home, alice_email) == NULL);
        free(home);

        char forged[512];
        snprintf(forged, sizeof forged, "{\"job\":\"calendar\",\"enabled\":true,\"user_id\":\"%s\"}", alice);
        CHECK_STATUS(mss_user_api(engine, SPAN(second), SPAN("set_job_enabled"), SPAN(forged), &out, &error),
                     MSS_STATUS_INVALID_JSON);
        CHECK(error && out.ptr == NULL);
        mss_error_free(error);
        error = NULL;
        CHECK_STATUS(mss_user_api(engine, SPAN(second), SPAN("service"), SPAN("{}"), &out, NULL),
                     MSS_STATUS_INVALID_ARGUMENT);
        CHECK_STATUS(mss_user_api(engine, NULL, 0, SPAN("home"), SPAN("{}"), &out, NULL),
                     MSS_STATUS_INVALID_ARGUMENT);

        CHECK_STATUS(mss_user_api(engine, SPAN(second), SPAN("set_job_enabled"),
                                  SPAN("{\"job\":\"calendar\",\"enabled\":true}"), &out, &error), 0);
        report(error);
        char *setup = buffer_text(&out);
        CHECK(strstr(setup, "\"enabled\":true") != NULL);
        free(setup);
        CHECK_STATUS(mss_user_api(engine, SPAN(alice), SPAN("setup"), SPAN("{}"), &out, &error), 0);
        report(error);
        setup = buffer_text(&out);
        CHECK(strstr(setup, "\"enabled\":false") != NULL);
        free(setup);
    }
    free(alice); free(second); free(alice_email); free(second_email);
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
    run("a_body_over_the_limit_is_refused", a_body_over_the_limit_is_refused);
    run("engine_calls_from_several_threads", engine_calls_from_several_threads);
    run("transport_failures_come_back_as_statuses", transport_failures_come_back_as_statuses);
    run("unknown_request_ids_are_not_found", unknown_request_ids_are_not_found);
    run("bad_test_request_json_is_refused", bad_test_request_json_is_refused);
    run("app_functions_refuse_bad_input", app_functions_refuse_bad_input);
    run("argument_errors_never_echo_a_value", argument_errors_never_echo_a_value);
    run("notifications_are_answered_as_the_engine_decides", notifications_are_answered_as_the_engine_decides);
    run("whole_flow_syncs_both_ways", whole_flow_syncs_both_ways);
    run("failed_run_is_an_event_and_a_notification", failed_run_is_an_event_and_a_notification);
    run("user_api_acts_for_the_named_user_only", user_api_acts_for_the_named_user_only);
    curl_global_cleanup();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
