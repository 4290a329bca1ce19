/*
 * fotactl - the operator's command line: release keys, signed releases (made here, offline,
 * never on the server), and fotad's admin API (upload, list, devices, assignments).
 * docs/FOTACTL.md has every command with an example.
 */
#include "fotactl.h"

static const char KEYGEN_USAGE[] =
    "usage: fotactl keygen --private FILE --public FILE [--force]\n"
    "\n"
    "Make an ECDSA P-256 release key pair as PEM files. The private key is written with mode\n"
    "0600 and signs releases; keep it offline. The public key goes to fotad (--release-key) and\n"
    "into every device. Existing files are never replaced unless --force is given.\n";

static const char RELEASE_USAGE[] =
    "usage: fotactl release COMMAND ...\n"
    "\n"
    "  create    build and sign a release bundle from an ESP32 app image (offline)\n"
    "  inspect   show a bundle's manifest and check its signature and chain (offline)\n"
    "  upload    send a bundle to fotad\n"
    "  list      the releases fotad holds\n"
    "  show      one release\n";

static const char DEVICE_USAGE[] =
    "usage: fotactl device COMMAND ...\n"
    "\n"
    "  list      every device fotad has heard from\n"
    "  show      one device with its report history\n"
    "  key       a device's key, derived from the master secret (for provisioning)\n";

static const char ASSIGN_USAGE[] =
    "usage: fotactl assign RELEASE (--device ID | --product P) [server options]\n"
    "\n"
    "Tell fotad which release a device, or every device of a product, should run. A device's\n"
    "own assignment wins over its product's; a new assignment replaces the old one.\n"
    "\n"
    "server options (every command that talks to fotad):\n"
    "  --server URL        fotad's address (default $FOTA_SERVER, else http://127.0.0.1:8080)\n"
    "  --token T           admin bearer token (default $FOTA_TOKEN)\n"
    "  --token-file F      read the token from F\n"
    "  --json              print the server's JSON instead of a table\n";

static const char ASSIGNMENT_USAGE[] = "usage: fotactl assignment list [server options]\n"
                                       "\n"
                                       "The assignments fotad holds (see fotactl assign --help).\n";

int main(int argc, char **argv)
{
    static const fota_cli_cmd_t cmds[] = {
        {"keygen", "make a release key pair", KEYGEN_USAGE, fotactl_cmd_keygen},
        {"release", "create, inspect, upload and list releases", RELEASE_USAGE,
         fotactl_cmd_release},
        {"device", "list and show devices; derive a device key", DEVICE_USAGE, fotactl_cmd_device},
        {"assign", "assign a release to a device or a product", ASSIGN_USAGE, fotactl_cmd_assign},
        {"assignment", "list assignments", ASSIGNMENT_USAGE, fotactl_cmd_assignment},
    };
    static const fota_cli_tool_t tool = {
        FOTACTL, "Operator CLI for fota: release keys, signed releases, fotad's admin API.", cmds,
        sizeof cmds / sizeof cmds[0]};
    return fota_cli_dispatch(&tool, argc, argv);
}
