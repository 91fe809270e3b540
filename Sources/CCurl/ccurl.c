#include "ccurl.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// libcurl is opened at run time (as CNVML opens NVML), by kube-agent only: `run` and the other commands
// never load it, nor OpenSSL and the rest of what it links, which made the idle daemon 5 MB larger.
static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    void (*easy_cleanup)(CURL *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
    CURLMcode (*multi_wakeup)(CURLM *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    const char *(*multi_strerror)(CURLMcode);
    CURLMcode (*multi_cleanup)(CURLM *);
} curl;
static char load_error[256];

#define RESOLVE(field, symbol) curl.field = (__typeof__(curl.field))dlsym(library, #symbol)

int ccurl_global_init(void) {
    void *library = dlopen(CCURL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *reason = dlerror();
        snprintf(load_error, sizeof load_error, "%s", reason != NULL ? reason : "dlopen failed");
        return -1;
    }
    RESOLVE(global_init, curl_global_init);
    RESOLVE(easy_init, curl_easy_init);
    RESOLVE(easy_setopt, curl_easy_setopt);
    RESOLVE(easy_getinfo, curl_easy_getinfo);
    RESOLVE(easy_strerror, curl_easy_strerror);
    RESOLVE(easy_cleanup, curl_easy_cleanup);
    RESOLVE(slist_append, curl_slist_append);
    RESOLVE(slist_free_all, curl_slist_free_all);
    RESOLVE(multi_init, curl_multi_init);
    RESOLVE(multi_add_handle, curl_multi_add_handle);
    RESOLVE(multi_remove_handle, curl_multi_remove_handle);
    RESOLVE(multi_perform, curl_multi_perform);
    RESOLVE(multi_poll, curl_multi_poll);
    RESOLVE(multi_wakeup, curl_multi_wakeup);
    RESOLVE(multi_info_read, curl_multi_info_read);
    RESOLVE(multi_strerror, curl_multi_strerror);
    RESOLVE(multi_cleanup, curl_multi_cleanup);
    if (!curl.global_init || !curl.easy_init || !curl.easy_setopt || !curl.easy_getinfo
        || !curl.easy_strerror || !curl.easy_cleanup || !curl.slist_append || !curl.slist_free_all
        || !curl.multi_init || !curl.multi_add_handle || !curl.multi_remove_handle || !curl.multi_perform
        || !curl.multi_poll || !curl.multi_wakeup || !curl.multi_info_read || !curl.multi_strerror
        || !curl.multi_cleanup) {
        snprintf(load_error, sizeof load_error, "%s lacks a function this program calls", CCURL_LIBRARY);
        curl.easy_init = NULL;
        return -1;
    }
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(load_error, sizeof load_error, "curl_global_init failed");
        curl.easy_init = NULL;
        return -1;
    }
    return 0;
}

const char *ccurl_load_error(void) { return load_error; }

int ccurl_stopped_by_caller(int code) { return code == CURLE_ABORTED_BY_CALLBACK || code == CURLE_WRITE_ERROR; }

static size_t write_body(char *data, size_t size, size_t count, void *userdata) {
    const ccurl_request *request = userdata;
    return request->on_data ? request->on_data(data, size * count, request->context) : size * count;
}

struct ccurl_waker {
    pthread_mutex_t lock;
    CURLM *multi;  // the request's, while it runs
    int woken;
};

ccurl_waker *ccurl_waker_new(void) {
    ccurl_waker *waker = calloc(1, sizeof *waker);
    if (waker) pthread_mutex_init(&waker->lock, NULL);
    return waker;
}

void ccurl_waker_wake(ccurl_waker *waker) {
    pthread_mutex_lock(&waker->lock);
    waker->woken = 1;
    if (waker->multi) curl.multi_wakeup(waker->multi);
    pthread_mutex_unlock(&waker->lock);
}

void ccurl_waker_free(ccurl_waker *waker) {
    if (!waker) return;
    pthread_mutex_destroy(&waker->lock);
    free(waker);
}

// Sets the multi handle a wake interrupts (NULL: none, before it is cleaned up); says whether it was woken.
static int waker_attach(ccurl_waker *waker, CURLM *multi) {
    if (!waker) return 0;
    pthread_mutex_lock(&waker->lock);
    waker->multi = multi;
    int woken = waker->woken;
    pthread_mutex_unlock(&waker->lock);
    return woken;
}

static int waker_woken(ccurl_waker *waker) {
    if (!waker) return 0;
    pthread_mutex_lock(&waker->lock);
    int woken = waker->woken;
    pthread_mutex_unlock(&waker->lock);
    return woken;
}

// Runs the transfer on a multi handle of its own, waiting in curl_multi_poll, which a waker ends.
static CURLcode run(CURL *handle, ccurl_waker *waker, char *error, size_t error_size) {
    CURLM *multi = curl.multi_init();
    if (!multi) {
        snprintf(error, error_size, "curl_multi_init failed");
        return CURLE_FAILED_INIT;
    }
    CURLcode code = CURLE_OK;
    CURLMcode failed = curl.multi_add_handle(multi, handle);
    int woken = waker_attach(waker, multi);
    while (failed == CURLM_OK) {
        if (woken) {
            snprintf(error, error_size, "stopped");
            code = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        int running = 0;
        failed = curl.multi_perform(multi, &running);
        if (failed != CURLM_OK) break;
        if (running == 0) {
            int left = 0;
            for (CURLMsg *message; (message = curl.multi_info_read(multi, &left)) != NULL;) {
                if (message->msg == CURLMSG_DONE) code = message->data.result;
            }
            break;
        }
        // At most a second, or libcurl's own next timeout (connect, low speed, the whole request's).
        failed = curl.multi_poll(multi, NULL, 0, 1000, NULL);
        woken = waker_woken(waker);
    }
    if (failed != CURLM_OK) {
        snprintf(error, error_size, "%s", curl.multi_strerror(failed));
        code = CURLE_FAILED_INIT;
    }
    waker_attach(waker, NULL);
    curl.multi_remove_handle(multi, handle);
    curl.multi_cleanup(multi);
    return code;
}

void ccurl_perform(const ccurl_request *request, ccurl_result *result) {
    memset(result, 0, sizeof *result);
    if (!curl.easy_init) {
        result->code = CURLE_FAILED_INIT;
        snprintf(result->error, sizeof result->error, "%s is not loaded: %s", CCURL_LIBRARY, load_error);
        return;
    }
    CURL *handle = curl.easy_init();
    if (!handle) {
        result->code = CURLE_FAILED_INIT;
        strncpy(result->error, "curl_easy_init failed", sizeof result->error - 1);
        return;
    }
    struct curl_slist *headers = NULL;
    char line[8192];
    if (request->authorization) {
        snprintf(line, sizeof line, "Authorization: %s", request->authorization);
        headers = curl.slist_append(headers, line);
    }
    if (request->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", request->content_type);
        headers = curl.slist_append(headers, line);
    }
    if (request->user_agent) curl.easy_setopt(handle, CURLOPT_USERAGENT, request->user_agent);
    if (request->accept) {
        snprintf(line, sizeof line, "Accept: %s", request->accept);
        headers = curl.slist_append(headers, line);
    }
    curl.easy_setopt(handle, CURLOPT_ERRORBUFFER, result->error);
    curl.easy_setopt(handle, CURLOPT_URL, request->url);
    curl.easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request->method);
    curl.easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    curl.easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "https,http");
    curl.easy_setopt(handle, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    if (request->ca_file) curl.easy_setopt(handle, CURLOPT_CAINFO, request->ca_file);
    if (request->client_cert) curl.easy_setopt(handle, CURLOPT_SSLCERT, request->client_cert);
    if (request->client_key) curl.easy_setopt(handle, CURLOPT_SSLKEY, request->client_key);
    struct curl_blob ca = {(void *)request->ca_pem, request->ca_pem_length, CURL_BLOB_COPY};
    struct curl_blob cert = {(void *)request->client_cert_pem, request->client_cert_pem_length, CURL_BLOB_COPY};
    struct curl_blob key = {(void *)request->client_key_pem, request->client_key_pem_length, CURL_BLOB_COPY};
    if (!request->ca_file && request->ca_pem) curl.easy_setopt(handle, CURLOPT_CAINFO_BLOB, &ca);
    if (!request->client_cert && request->client_cert_pem) {
        curl.easy_setopt(handle, CURLOPT_SSLCERTTYPE, "PEM");
        curl.easy_setopt(handle, CURLOPT_SSLCERT_BLOB, &cert);
    }
    if (!request->client_key && request->client_key_pem) {
        curl.easy_setopt(handle, CURLOPT_SSLKEYTYPE, "PEM");
        curl.easy_setopt(handle, CURLOPT_SSLKEY_BLOB, &key);
    }
    if (request->body) {
        curl.easy_setopt(handle, CURLOPT_POSTFIELDS, request->body);
        curl.easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->body_length);
    }
    // A peer that went away without a word (a partitioned node) is found within about a minute.
    curl.easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
    curl.easy_setopt(handle, CURLOPT_TCP_KEEPIDLE, 30L);
    curl.easy_setopt(handle, CURLOPT_TCP_KEEPINTVL, 10L);
    curl.easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, request->connect_timeout_ms);
    curl.easy_setopt(handle, CURLOPT_TIMEOUT_MS, request->timeout_ms);
    if (request->low_speed_seconds > 0) {
        curl.easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl.easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, request->low_speed_seconds);
    }
    curl.easy_setopt(handle, CURLOPT_WRITEFUNCTION, write_body);
    curl.easy_setopt(handle, CURLOPT_WRITEDATA, (void *)request);
    result->code = run(handle, request->waker, result->error, sizeof result->error);
    curl.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &result->status);
    if (result->code != CURLE_OK && result->error[0] == 0) {
        strncpy(result->error, curl.easy_strerror(result->code), sizeof result->error - 1);
    }
    curl.slist_free_all(headers);
    curl.easy_cleanup(handle);
}
