/*
 * keys.c - fotactl's key commands, both offline:
 *
 *   keygen      the release key pair (ECDSA P-256, PEM): the private half signs releases on the
 *               operator's machine, the public half goes to fotad and into every device;
 *   device key  a device's key, HMAC-SHA256(master secret, device id) (docs/PROTOCOL.md
 *               section 1), read from the same master secret file fotad uses, the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fota/auth.h"
#include "fota/host/keys.h"

#include "fotactl.h"

#define DEVICE_ID_MAX 48u
#define MASTER_MIN 32u

bool fotactl_device_id_ok(const char *id)
{
    size_t n = strlen(id);
    return n > 0 && n <= DEVICE_ID_MAX &&
           strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:") == n;
}

/* Which of the two files is in the way, for the error message. */
static const char *existing(const char *priv, const char *pub)
{
    return access(priv, F_OK) == 0 ? priv : pub;
}

int fotactl_keygen(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *priv = NULL, *pub = NULL;
    bool force = false;
    const fota_cli_opt_t opts[] = {{"private", 0, &priv, NULL},
                                   {"public", 0, &pub, NULL},
                                   {"force", 0, NULL, &force},
                                   {NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {opts, NULL, NULL, 0, 0, 0};
    int code;
    if (!fota_cli_parse(FOTACTL, cmd, &spec, argc, argv, &code)) {
        return code;
    }
    if (priv == NULL || pub == NULL) {
        return fota_cli_usage_error(FOTACTL, cmd, "--private and --public are required");
    }
    if (strcmp(priv, pub) == 0) {
        return fota_cli_usage_error(FOTACTL, cmd, "--private and --public name the same file");
    }
    fota_err_t err = fota_key_generate_ex(priv, pub, force ? FOTA_KEY_FORCE : 0u);
    if (err == FOTA_ERR_KEY_EXISTS) {
        return fota_cli_fail(FOTACTL, existing(priv, pub), err,
                             "exists; nothing written (use --force to replace the pair)");
    }
    if (err != FOTA_OK) {
        return fota_cli_fail(FOTACTL, NULL, err, "cannot write %s and %s: %s", priv, pub,
                             fota_err_text(err));
    }
    printf("release key pair: %s (private, 0600), %s (public)\n", priv, pub);
    return 0;
}

/* The master secret is the whole file as raw bytes, as fotad reads it (docs/SERVER.md). */
static int derive(const char *master, const char *id, uint8_t key[32])
{
    uint8_t *secret = NULL;
    size_t len = 0;
    int rc = fota_cli_read_file(FOTACTL, master, &secret, &len);
    if (rc != 0) {
        return rc;
    }
    fota_err_t err = len < MASTER_MIN ? FOTA_ERR_KEY : fota_auth_device_key(secret, len, id, key);
    memset(secret, 0, len);
    free(secret);
    if (err != FOTA_OK) {
        return fota_cli_fail(FOTACTL, master, err, "%s",
                             len < MASTER_MIN ? "a master secret has at least 32 bytes"
                                              : fota_err_text(err));
    }
    return 0;
}

int fotactl_device_key(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *master = NULL;
    const char *pos[1];
    const fota_cli_opt_t opts[] = {{"master", 0, &master, NULL}, {NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {opts, pos, "ID", 1, 1, 0};
    int code;
    if (!fota_cli_parse(FOTACTL_DEVICE, cmd, &spec, argc, argv, &code)) {
        return code;
    }
    if (master == NULL) {
        return fota_cli_usage_error(FOTACTL_DEVICE, cmd, "--master is required");
    }
    if (!fotactl_device_id_ok(pos[0])) {
        return fota_cli_usage_error(
            FOTACTL_DEVICE, cmd, "'%s' is not a device id (1..48 of A-Z a-z 0-9 - _ . :)", pos[0]);
    }
    uint8_t key[32];
    char hex[65];
    int rc = derive(master, pos[0], key);
    if (rc == 0) {
        printf("%s\n", fota_cli_hex(key, sizeof key, hex));
    }
    memset(key, 0, sizeof key);
    return rc;
}
