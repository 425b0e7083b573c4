/* http: the client side of the local API, HTTP/1.1 over the node's Unix socket through libcurl.
 *
 * The host name in URLs is a placeholder ("localhost"): CURLOPT_UNIX_SOCKET_PATH decides where the
 * request goes. A failure to reach the socket always names the socket path, because the usual cause
 * is a wrong -s / $RENKEI_SOCKET or a node that is not running.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    rk_buf *b = ctx;
    size_t n = size * nmemb;
    if (rk_buf_append(b, data, n) != 0)
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
    rk_http_response *r = ctx;
    size_t n = size * nmemb;
    static const char name[] = "content-type:";
    if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1;
        size_t vlen = n - (sizeof name - 1);
        while (vlen && (*v == ' ' || *v == '\t')) {
            v++;
            vlen--;
        }
        while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
            vlen--;
        if (vlen >= sizeof r->content_type)
            vlen = sizeof r->content_type - 1;
        memcpy(r->content_type, v, vlen);
        r->content_type[vlen] = '\0';
    }
    return n;
}

int rk_http(const rk_cli *cli, const char *method, const char *path, const char *body, size_t body_len,
            rk_http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    rk_buf_init(&resp->body);
    static bool curl_ready;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, "renkei: libcurl could not be initialised\n");
            return -1;
        }
        curl_ready = true;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        fprintf(stderr, "renkei: out of memory\n");
        return -1;
    }
    rk_buf url;
    rk_buf_init(&url);
    struct curl_slist *headers = NULL;
    int rc = -1;
    if (rk_buf_puts(&url, "http://localhost") != 0 || rk_buf_puts(&url, path) != 0) {
        fprintf(stderr, "renkei: out of memory\n");
        goto out;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, cli->socket);
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "renkei/" RENKEI_VERSION);
    if (body) {
        headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (!headers) {
            fprintf(stderr, "renkei: out of memory\n");
            goto out;
        }
        /* Without this curl would wait for "100 Continue" on larger bodies. */
        struct curl_slist *h2 = curl_slist_append(headers, "Expect:");
        if (!h2) {
            fprintf(stderr, "renkei: out of memory\n");
            goto out;
        }
        headers = h2;
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    else if (strcmp(method, "POST") == 0 && !body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        if (cc == CURLE_COULDNT_CONNECT)
            fprintf(stderr,
                    "renkei: cannot connect to the node's socket %s (is renkeid running? use -s or "
                    "$RENKEI_SOCKET)\n",
                    cli->socket);
        else
            fprintf(stderr, "renkei: request to %s failed: %s\n", cli->socket,
                    errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    rc = 0;
out:
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    rk_buf_free(&url);
    if (rc != 0)
        rk_buf_free(&resp->body);
    return rc;
}

void rk_http_report_error(const rk_cli *cli, const rk_http_response *resp)
{
    (void)cli;
    json_t *j = resp->body.len ? json_loadb(resp->body.data, resp->body.len, 0, NULL) : NULL;
    json_t *e = json_is_object(j) ? json_object_get(j, "error") : NULL;
    if (json_is_object(e)) {
        const char *message = json_string_value(json_object_get(e, "message"));
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *field = json_string_value(json_object_get(e, "field"));
        const json_t *details = json_object_get(e, "details");
        size_t nd = json_is_array(details) ? json_array_size(details) : 0;
        if (nd && rk_cli_japanese())
            fprintf(stderr, "renkei: レコードに %zu 件の誤りがあります (%s", nd, code ? code : "error");
        else
            fprintf(stderr, "renkei: %s (%s", message ? message : "request failed", code ? code : "error");
        if (field && field[0])
            fprintf(stderr, ", field %s", field);
        fprintf(stderr, ")\n");
        /* every problem of the record, so a file is fixed in one pass */
        if (nd)
            rk_print_details(stderr, NULL, details);
    } else {
        /* Not our API's error shape (a proxy, or an old node): show the start of what came back. */
        char first[200] = "";
        if (resp->body.len) {
            size_t n = strcspn(resp->body.data, "\r\n");
            if (n >= sizeof first)
                n = sizeof first - 1;
            memcpy(first, resp->body.data, n);
            first[n] = '\0';
        }
        fprintf(stderr, "renkei: the node answered HTTP %ld%s%s\n", resp->status, first[0] ? ": " : "", first);
    }
    json_decref(j);
}

json_t *rk_http_json(const rk_cli *cli, const char *method, const char *path, const char *body, size_t body_len,
                     long *status)
{
    rk_http_response resp;
    if (rk_http(cli, method, path, body, body_len, &resp) != 0)
        return NULL;
    if (status)
        *status = resp.status;
    json_t *j = NULL;
    if (resp.status < 200 || resp.status >= 300) {
        if (cli->json && resp.body.len) {
            fwrite(resp.body.data, 1, resp.body.len, stdout);
            if (resp.body.data[resp.body.len - 1] != '\n')
                putchar('\n');
        }
        rk_http_report_error(cli, &resp);
    } else {
        json_error_t jerr;
        j = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, &jerr);
        if (!j)
            fprintf(stderr, "renkei: the node's answer to %s %s is not JSON: %s\n", method, path, jerr.text);
    }
    rk_buf_free(&resp.body);
    return j;
}

static int append_escaped(rk_buf *url, const char *value, bool keep_colon)
{
    char *esc = curl_easy_escape(NULL, value, 0);
    if (!esc)
        return -1;
    int rc = 0;
    for (const char *p = esc; *p && rc == 0; p++) {
        if (keep_colon && p[0] == '%' && p[1] == '3' && (p[2] == 'A' || p[2] == 'a')) {
            rc = rk_buf_append(url, ":", 1);
            p += 2;
        } else {
            rc = rk_buf_append(url, p, 1);
        }
    }
    curl_free(esc);
    return rc;
}

int rk_query_add(rk_buf *url, const char *key, const char *value)
{
    if (!value)
        return 0;
    const char *sep = url->data && strchr(url->data, '?') ? "&" : "?";
    if (rk_buf_puts(url, sep) != 0 || rk_buf_puts(url, key) != 0 || rk_buf_puts(url, "=") != 0)
        return -1;
    return append_escaped(url, value, false);
}

int rk_path_add(rk_buf *url, const char *segment)
{
    return append_escaped(url, segment, true);
}
