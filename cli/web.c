/* web: `renkei web`, which asks the node over its Unix socket (the authority) for a one-time login
 * URL for the web page on the TCP listener and prints it. Whoever may use the socket to publish may
 * thereby log a browser in; the URL works once, within ten minutes. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int rk_cmd_web(rk_cli *cli, int argc, char **argv)
{
    int rc = rk_parse_help_json(cli, "web", argc, argv, 0);
    if (rc >= 0)
        return rc;
    json_t *j = rk_http_json(cli, "POST", "/v1/web/login", NULL, 0, NULL);
    if (!j)
        return RK_EXIT_FAIL;
    const char *url = json_string_value(json_object_get(j, "url"));
    if (cli->json) {
        rk_print_json(j);
    } else if (url) {
        if (rk_cli_japanese())
            printf("ブラウザでこのURLを開いてください（一度だけ、10分以内に使えます）:\n%s\n", url);
        else
            printf("Open this URL in a browser (it works once, within 10 minutes):\n%s\n", url);
    }
    json_decref(j);
    return url ? RK_EXIT_OK : RK_EXIT_FAIL;
}
