#pragma once
#include <stddef.h>

// One HTTP request through Debian's libcurl (HTTP/1.1 and 2, TLS by OpenSSL), run to its end on the calling
// thread, the body handed on as it arrives (a watch is one long response). libcurl's setopt is variadic,
// which Swift cannot call: this is the one place it is called. Without the library every request fails
// with CURLE_FAILED_INIT and the reason.
typedef struct {
    const char *url;
    const char *method;          // GET, POST, PATCH, ...
    const char *ca_file;         // the CA bundle to trust; NULL: the system's
    const char *authorization;   // the Authorization header's value, or NULL
    const char *client_cert;     // a client certificate (PEM) and its key, or NULL
    const char *client_key;
    // The same three as PEM text in memory (a kubeconfig's *-data), used where the file is NULL.
    const char *ca_pem; size_t ca_pem_length;
    const char *client_cert_pem; size_t client_cert_pem_length;
    const char *client_key_pem; size_t client_key_pem_length;
    const char *content_type;    // the body's Content-Type, or NULL
    const char *accept;          // the Accept header, or NULL
    const char *user_agent;      // the User-Agent header, or NULL
    const char *body;            // the body to send, or NULL
    size_t body_length;
    long connect_timeout_ms;
    long timeout_ms;             // the whole request; 0: no limit (a watch)
    long low_speed_seconds;      // abort when under 1 byte/s for this long; 0: never
    // Each piece of the body as it arrives: return its length to go on, anything else aborts.
    size_t (*on_data)(const char *data, size_t length, void *context);
    void *context;
    // Ends the request at once when woken from another thread (ccurl_waker_wake), or NULL.
    struct ccurl_waker *waker;
} ccurl_request;

// Interrupts a request from another thread: the request waits in curl_multi_poll, which
// curl_multi_wakeup ends. Thread-safe; a waker woken before its request starts ends it before it connects.
typedef struct ccurl_waker ccurl_waker;
ccurl_waker *ccurl_waker_new(void);
void ccurl_waker_wake(ccurl_waker *waker);
void ccurl_waker_free(ccurl_waker *waker);

typedef struct {
    long status;                 // the HTTP status, 0 when no response came
    int code;                    // libcurl's result (CURLE_*), 0 on success
    char error[256];             // libcurl's message when code is not 0
} ccurl_result;

// Debian's libcurl (the OpenSSL flavour, package libcurl4), opened at run time.
#define CCURL_LIBRARY "libcurl.so.4"

// Opens and initialises libcurl once per process (before any thread uses it); 0 on success, else
// ccurl_load_error() says why.
int ccurl_global_init(void);
const char *ccurl_load_error(void);

void ccurl_perform(const ccurl_request *request, ccurl_result *result);

// CURLE_ABORTED_BY_CALLBACK and CURLE_WRITE_ERROR: the request was stopped by its waker or by on_data.
int ccurl_stopped_by_caller(int code);
