/* web: `renkei web`, which asks the node over its Unix socket (the authority) for a one-time login
 * URL for the web page on the TCP listener and prints it. Whoever may use the socket to publish may
 * thereby log a browser in; the URL works once, within ten minutes. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int rk_cmd_web(rk_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'}, {"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            rk_command_help("web");
            return RK_EXIT_OK;
        }
        if (c == 'j')
            cli->json = true;
        else
            return rk_usage_error("web", "unknown option");
    }
    if (optind < argc)
        return rk_usage_error("web", "unexpected argument '%s'", argv[optind]);
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
