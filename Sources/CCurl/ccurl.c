#include "ccurl.h"

#include <curl/curl.h>
#include <string.h>

int ccurl_global_init(void) { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1; }

int ccurl_stopped_by_caller(int code) { return code == CURLE_ABORTED_BY_CALLBACK || code == CURLE_WRITE_ERROR; }

static size_t write_body(char *data, size_t size, size_t count, void *userdata) {
    const ccurl_request *request = userdata;
    return request->on_data ? request->on_data(data, size * count, request->context) : size * count;
}

static int progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
    const ccurl_request *request = userdata;
    return request->should_stop ? request->should_stop(request->context) : 0;
}

void ccurl_perform(const ccurl_request *request, ccurl_result *result) {
    memset(result, 0, sizeof *result);
    CURL *curl = curl_easy_init();
    if (!curl) {
        result->code = CURLE_FAILED_INIT;
        strncpy(result->error, "curl_easy_init failed", sizeof result->error - 1);
        return;
    }
    struct curl_slist *headers = NULL;
    char line[8192];
    if (request->authorization) {
        snprintf(line, sizeof line, "Authorization: %s", request->authorization);
        headers = curl_slist_append(headers, line);
    }
    if (request->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", request->content_type);
        headers = curl_slist_append(headers, line);
    }
    if (request->user_agent) curl_easy_setopt(curl, CURLOPT_USERAGENT, request->user_agent);
    if (request->accept) {
        snprintf(line, sizeof line, "Accept: %s", request->accept);
        headers = curl_slist_append(headers, line);
    }
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, result->error);
    curl_easy_setopt(curl, CURLOPT_URL, request->url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request->method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    if (request->ca_file) curl_easy_setopt(curl, CURLOPT_CAINFO, request->ca_file);
    if (request->client_cert) curl_easy_setopt(curl, CURLOPT_SSLCERT, request->client_cert);
    if (request->client_key) curl_easy_setopt(curl, CURLOPT_SSLKEY, request->client_key);
    struct curl_blob ca = {(void *)request->ca_pem, request->ca_pem_length, CURL_BLOB_COPY};
    struct curl_blob cert = {(void *)request->client_cert_pem, request->client_cert_pem_length, CURL_BLOB_COPY};
    struct curl_blob key = {(void *)request->client_key_pem, request->client_key_pem_length, CURL_BLOB_COPY};
    if (!request->ca_file && request->ca_pem) curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
    if (!request->client_cert && request->client_cert_pem) {
        curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cert);
    }
    if (!request->client_key && request->client_key_pem) {
        curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
        curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &key);
    }
    if (request->body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->body_length);
    }
    // A peer that went away without a word (a partitioned node) is found within about a minute.
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, request->connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, request->timeout_ms);
    if (request->low_speed_seconds > 0) {
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, request->low_speed_seconds);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, (void *)request);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)request);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    result->code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result->status);
    if (result->code != CURLE_OK && result->error[0] == 0) {
        strncpy(result->error, curl_easy_strerror(result->code), sizeof result->error - 1);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
}
