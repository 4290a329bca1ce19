/*
 * main.c - fota-sim, the fleet simulator: N emulated ESP32 devices, each running the real agent
 * against a real fotad over HTTP, driven by one event loop, with power cuts and network faults
 * (docs/FOTA_SIM.md). `fota-sim run [options]`; the options alone work too (`run` is the only
 * command). This file only sequences a run: options, setup, server, loop, report.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "fota/host/cli.h"

#include "sim.h"

static int run(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    (void)cmd;
    sim_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return fota_cli_fail(SIM_PROG, NULL, FOTA_ERR_NO_MEM, NULL);
    }
    int code = SIM_EXIT_OK;
    if (!sim_options_parse(&s->cfg, argc, argv, &code)) {
        free(s);
        return code;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(s);
        return fota_cli_fail(SIM_PROG, NULL, FOTA_ERR_IO, "cannot initialise libcurl");
    }
    code = sim_setup(s);
    if (code == SIM_EXIT_OK) {
        code = sim_fotad_start(s);
    }
    if (code == SIM_EXIT_OK) {
        code = sim_setup_power_on(s);
    }
    if (code == SIM_EXIT_OK) {
        code = sim_run(s);
    }
    sim_fotad_stop(s);
    sim_teardown(s);
    curl_global_cleanup();
    free(s);
    return code;
}

static const fota_cli_cmd_t cmds[] = {
    {"run", "run a simulated fleet against fotad (the default command)", sim_run_usage, run},
};

static const fota_cli_tool_t tool = {
    SIM_PROG,
    "Fleet simulator: emulated ESP32 devices running the real agent against a real fotad,\n"
    "with power cuts and network faults (docs/FOTA_SIM.md).",
    cmds,
    sizeof cmds / sizeof cmds[0],
};

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a server that goes away must not kill the simulation */
    /* "fota-sim --devices 10 ..." is "fota-sim run --devices 10 ..." */
    bool bare = argc > 1 && argv[1][0] == '-' && strcmp(argv[1], "--help") != 0 &&
                strcmp(argv[1], "-h") != 0;
    if (!bare) {
        return fota_cli_dispatch(&tool, argc, argv);
    }
    char **args = calloc((size_t)argc + 2u, sizeof *args);
    if (args == NULL) {
        return SIM_EXIT_SETUP;
    }
    args[0] = argv[0];
    args[1] = (char *)"run";
    memcpy(args + 2, argv + 1, (size_t)(argc - 1) * sizeof *args);
    int code = fota_cli_dispatch(&tool, argc + 1, args);
    free(args);
    return code;
}
