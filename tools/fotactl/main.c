/*
 * fotactl - the operator's command line: release keys, signed releases (made here, offline,
 * never on the server), device keys for provisioning, and fotad's admin API (upload, list,
 * products and their chips, devices, assignments). This file is the command tree and its help
 * texts; the commands live in keys.c, release.c and remote.c. docs/FOTACTL.md has every command
 * with an example.
 */
#include "fotactl.h"

#define SERVER_OPTIONS                                                                             \
    "\nserver options (every command that talks to fotad):\n"                                      \
    "  --server URL        fotad's base URL (default $FOTA_SERVER, else " FOTACTL_DEFAULT_SERVER   \
    ")\n"                                                                                          \
    "  --token T           admin bearer token (default $FOTA_TOKEN)\n"                             \
    "  --token-file F      read the token from the first line of F (not visible in ps)\n"          \
    "  --ca FILE           https: verify fotad's certificate against the CA certificates in\n"     \
    "                      FILE (PEM; default $FOTA_CA, else the system's store); the\n"           \
    "                      certificate and the server's name are always verified\n"                \
    "  --json              print the server's JSON on one line instead of a table\n"

static const char KEYGEN_USAGE[] =
    "usage: fotactl keygen --private FILE --public FILE [--force]\n"
    "\n"
    "Make an ECDSA P-256 release key pair as PEM files. The private key is written with mode\n"
    "0600 and signs releases; keep it offline. The public key goes to fotad (--release-key) and\n"
    "into every device. Existing files are never replaced unless --force is given.\n";

static const char CREATE_USAGE[] =
    "usage: fotactl release create --image IMG --key PRIV.pem --product P [options] -o BUNDLE\n"
    "\n"
    "Check IMG as an ESP32 app image, build the manifest and the hash-chained blob, sign the\n"
    "manifest with the release private key and write the bundle fotad takes (manifest || blob),\n"
    "atomically. Signing happens here, offline; the server never holds the key. Prints the\n"
    "release id on stdout and a summary (with the chip the image is built for) on stderr.\n"
    "fotad refuses the bundle if the product is built on another chip.\n"
    "\n"
    "options:\n"
    "  --image IMG              the ESP-IDF app image (.bin)\n"
    "  --key PRIV.pem           the release private key (fotactl keygen)\n"
    "  --product P              product (hardware) id the release is for, 1..32 characters\n"
    "  --version V              version (default: the image's app descriptor)\n"
    "  --security-version S     security version (default: the image's app descriptor)\n"
    "  --chunk-size N           bytes per chunk, a power of two 256..65536 (default 1024)\n"
    "  --chip NAME              refuse IMG unless it is built for this chip (esp32, esp32s3,\n"
    "                           esp32c3, ...; default: any, as its header says)\n"
    "  -o, --output BUNDLE      where to write the bundle\n";

static const char INSPECT_USAGE[] =
    "usage: fotactl release inspect BUNDLE [--public PUB.pem]\n"
    "\n"
    "Show the manifest of a bundle and check it as fotad does on upload: every record of the\n"
    "hash chain and the image's SHA-256, and with --public (PEM or DER) the signature. Exit 1\n"
    "if any check fails. A delta bundle (fotactl release delta) shows its delta manifest and\n"
    "has its signature and every record checked.\n";

static const char DELTA_USAGE[] =
    "usage: fotactl release delta --from OLD.bin --release NEW.bundle --key PRIV.pem\n"
    "                             [--segment-records N] -o DELTA.bundle\n"
    "\n"
    "Make the patch that turns OLD.bin (an ESP32 app image with its SHA-256 appended: its id)\n"
    "into the image of release bundle NEW.bundle (checked, and signed with this key), in\n"
    "records of the release's chunk size, and write the signed delta bundle fotad takes (delta\n"
    "manifest || blob), atomically. Prints the delta id on stdout and a summary (the patch as a\n"
    "share of the full download) on stderr. Upload it with fotactl release upload once the\n"
    "release is on fotad.\n"
    "\n"
    "options:\n"
    "  --from OLD.bin           the image devices run now\n"
    "  --release NEW.bundle     the release bundle (fotactl release create)\n"
    "  --key PRIV.pem           the release private key that signed it\n"
    "  --segment-records N      records per segment (default 1): a power cut costs a sector's\n"
    "                           worth of records again, and up to a segment's more\n"
    "  -o, --output DELTA       where to write the delta bundle\n";

static const char UPLOAD_USAGE[] =
    "usage: fotactl release upload BUNDLE [server options]\n"
    "\n"
    "Send a bundle (fotactl release create) to fotad, which checks its signature, chain and\n"
    "image before it stores it. Prints \"ID uploaded\" (or \"ID already uploaded\"); a progress\n"
    "bar shows on stderr when it is a terminal.\n" SERVER_OPTIONS;

static const char RELEASE_LIST_USAGE[] = "usage: fotactl release list [server options]\n"
                                         "\n"
                                         "The releases fotad holds, newest upload first.\n"
                                         "\n" SERVER_OPTIONS;

static const char RELEASE_SHOW_USAGE[] = "usage: fotactl release show ID [server options]\n"
                                         "\n"
                                         "One release (ID: 32 hex digits).\n" SERVER_OPTIONS;

static const char DEVICE_LIST_USAGE[] =
    "usage: fotactl device list [server options]\n"
    "\n"
    "Every device fotad has heard from: product, running version, state, progress of the\n"
    "last download, last error, last seen (UTC).\n" SERVER_OPTIONS;

static const char DEVICE_SHOW_USAGE[] =
    "usage: fotactl device show ID [server options]\n"
    "\n"
    "One device and its reports, newest first (at most 100).\n" SERVER_OPTIONS;

static const char DEVICE_KEY_USAGE[] =
    "usage: fotactl device key ID --master FILE\n"
    "\n"
    "Print the device key of ID (64 hex digits): HMAC-SHA256(master secret, ID), the key to\n"
    "provision the device with. FILE is fotad's master secret file, used as raw bytes (at\n"
    "least 32). Offline: nothing is sent anywhere.\n";

static const char ASSIGN_USAGE[] =
    "usage: fotactl assign RELEASE (--device ID | --product P) [server options]\n"
    "\n"
    "Tell fotad which release a device, or every device of a product, should run. A device's\n"
    "own assignment wins over its product's; a new assignment replaces the old "
    "one.\n" SERVER_OPTIONS;

static const char PRODUCT_CREATE_USAGE[] =
    "usage: fotactl product create PRODUCT --chip NAME [server options]\n"
    "\n"
    "Tell fotad which chip PRODUCT is built on (esp32, esp32s2, esp32s3, esp32c2, esp32c3,\n"
    "esp32c5, esp32c6, esp32c61, esp32h2, esp32p4), before its first release: fotad then\n"
    "refuses any release of PRODUCT whose image is built for another chip. Without it the\n"
    "product's first release decides. A product's chip never changes: creating it again with\n"
    "the same chip is harmless, with another one is refused (409 chip_mismatch).\n" SERVER_OPTIONS;

static const char PRODUCT_LIST_USAGE[] = "usage: fotactl product list [server options]\n"
                                         "\n"
                                         "The products fotad knows and their chips.\n"
                                         "\n" SERVER_OPTIONS;

static const char PRODUCT_SHOW_USAGE[] = "usage: fotactl product show PRODUCT [server options]\n"
                                         "\n"
                                         "One product and its chip.\n" SERVER_OPTIONS;

static const char PRODUCT_USAGE[] = "usage: fotactl product COMMAND ...\n"
                                    "\n"
                                    "  create    set the chip a product is built on\n"
                                    "  list      the products fotad knows, with their chips\n"
                                    "  show      one product\n";

static const char ASSIGNMENT_LIST_USAGE[] =
    "usage: fotactl assignment list [server options]\n"
    "\n"
    "The assignments fotad holds: devices first, then products.\n" SERVER_OPTIONS;

static const char RELEASE_USAGE[] =
    "usage: fotactl release COMMAND ...\n"
    "\n"
    "  create    build and sign a release bundle from an ESP32 app image (offline)\n"
    "  delta     build and sign a delta bundle from an old image to a release (offline)\n"
    "  inspect   show a bundle's manifest and check its signature and chain (offline)\n"
    "  upload    send a bundle to fotad\n"
    "  list      the releases fotad holds\n"
    "  show      one release\n";

static const char DEVICE_USAGE[] =
    "usage: fotactl device COMMAND ...\n"
    "\n"
    "  list      every device fotad has heard from\n"
    "  show      one device with its report history\n"
    "  key       a device's key, derived from the master secret (offline, for provisioning)\n"
    "  tag       add or remove tags\n";

static const char ASSIGNMENT_USAGE[] = "usage: fotactl assignment list [server options]\n"
                                       "\n"
                                       "The assignments fotad holds (see fotactl assign --help).\n";

static const char LEGACY_SHOW_USAGE[] =
    "usage: fotactl legacy show [server options]\n"
    "\n"
    "The legacy bridge (docs/MIGRATION.md): on or off, its product and bridge release, what it\n"
    "served and refused since fotad started, and the enrollments by state.\n" SERVER_OPTIONS;

static const char LEGACY_SET_USAGE[] =
    "usage: fotactl legacy set --product P --bridge-release ID [--mac-field NAME]\n"
    "                          [server options]\n"
    "\n"
    "Serve release ID, unauthenticated and MAC'd with the fleet key fotad was given\n"
    "(legacy_fleet_key_file), to devices of product P that still run the original firmware.\n"
    "One product per fotad; the release must be P's, in 1024-byte chunks.\n"
    "\n"
    "  --product P            the product whose devices run the original firmware\n"
    "  --bridge-release ID    the release they get: firmware with the fota agent\n"
    "  --mac-field NAME       the answer's MAC field as the original firmware reads it\n"
    "                         (default mac; some builds read hmac)\n" SERVER_OPTIONS;

static const char LEGACY_OFF_USAGE[] = "usage: fotactl legacy off [server options]\n"
                                       "\n"
                                       "Stop serving the bridge release; enrolled devices keep "
                                       "their keys.\n" SERVER_OPTIONS;

static const char LEGACY_USAGE[] = "usage: fotactl legacy COMMAND ...\n"
                                   "\n"
                                   "  show      the legacy bridge's setting and counts\n"
                                   "  set       serve a bridge release to the original firmware\n"
                                   "  off       turn the bridge off\n";

static const char ENROLL_LIST_USAGE[] =
    "usage: fotactl enroll list [--state STATE] [server options]\n"
    "\n"
    "Bridge devices' key registrations: device id, state (pending, approved, conflict,\n"
    "rejected), the key's fingerprint (the device logs the same), the address it came from.\n"
    "\n"
    "  --state STATE   only those in STATE\n" SERVER_OPTIONS;

static const char ENROLL_APPROVE_USAGE[] =
    "usage: fotactl enroll approve (ID... | --all-pending) [server options]\n"
    "\n"
    "Approve pending registrations: the devices then authenticate with the keys they\n"
    "registered. A registration in conflict (two keys for one id) is never "
    "approved.\n" SERVER_OPTIONS;

static const char ENROLL_REJECT_USAGE[] =
    "usage: fotactl enroll reject (ID... | --all-pending) [server options]\n"
    "\n"
    "Reject registrations, or revoke approved ones: their keys are refused from now "
    "on.\n" SERVER_OPTIONS;

static const char ENROLL_DELETE_USAGE[] =
    "usage: fotactl enroll delete ID... [server options]\n"
    "\n"
    "Forget registrations, so that the devices may register again.\n" SERVER_OPTIONS;

static const char ENROLL_USAGE[] = "usage: fotactl enroll COMMAND ...\n"
                                   "\n"
                                   "  list      bridge devices' key registrations\n"
                                   "  approve   let registered keys in\n"
                                   "  reject    refuse or revoke registered keys\n"
                                   "  delete    forget registrations\n";

static const char DEVICE_TAG_USAGE[] =
    "usage: fotactl device tag ID... [--add T,..] [--remove T,..] [server options]\n"
    "\n"
    "Tag devices (1..32 of A-Z a-z 0-9 - _ . : each, at most 16 a device): a rollout may\n"
    "target only devices that carry given tags (docs/ROLLOUTS.md).\n" SERVER_OPTIONS;

static const char ROLLOUT_CREATE_USAGE[] =
    "usage: fotactl rollout create RELEASE [--product P] [--name TEXT] [--tags T,..]\n"
    "                              [--devices ID,..] [--stages LIST] [stage options]\n"
    "                              [failure options] [pacing options] [--action A]\n"
    "                              [--dry-run | --start [--at UNIX]] [server options]\n"
    "\n"
    "Bring RELEASE to a product's devices in stages (docs/ROLLOUTS.md). Devices that check in\n"
    "later join it, in the stage their id places them.\n"
    "\n"
    "  --product P            the target product (default: the release's)\n"
    "  --tags T,..            only devices carrying every one of these tags\n"
    "  --devices ID,..        only these devices\n"
    "  --stages LIST          e.g. 10,5%,25%,100%: a stage of 10 devices, then shares of the\n"
    "                         fleet (default 100%)\n"
    "  --success-percent N    share of a stage's members that must confirm (default 100)\n"
    "  --soak S               seconds that must hold before the next stage opens\n"
    "  --manual               a stage opens only on rollout resume\n"
    "  --stage-max-failures N, --stage-max-failure-percent P\n"
    "                         a stage's thresholds; --max-failures N, --max-failure-percent P\n"
    "                         the whole rollout's; --min-finished M before a percentage\n"
    "                         applies. Crossing one pauses the rollout\n"
    "  --on-failure pause|pause_and_rollback   --rollback-release ID\n"
    "  --timeout S            a started device silent this long counts as failed\n"
    "  --rate N               devices started a minute at most; --rate-after M --rate-then K:\n"
    "                         K a minute once M succeeded\n"
    "  --window CRON          maintenance window (5 fields), --window-duration S,\n"
    "                         --window-tz +HH:MM; --window-no-finish: downloads stop outside\n"
    "  --action A             forced, soft (default) or download_only\n"
    "  --dry-run              store nothing: how many known devices each stage would hold\n"
    "  --start, --at UNIX     start it now, or at a time\n" SERVER_OPTIONS;

static const char ROLLOUT_LIST_USAGE[] = "usage: fotactl rollout list [server options]\n"
                                         "\n"
                                         "Every rollout, newest first.\n" SERVER_OPTIONS;

static const char ROLLOUT_SHOW_USAGE[] =
    "usage: fotactl rollout show ID [--watch [--interval S]] [server options]\n"
    "\n"
    "A rollout's settings and state, and per stage its members by status, a progress bar and\n"
    "the failure rate against the threshold. --watch redraws it every S seconds (default 2)\n"
    "until the rollout is finished or cancelled.\n" SERVER_OPTIONS;

static const char ROLLOUT_HISTORY_USAGE[] =
    "usage: fotactl rollout history ID [server options]\n"
    "\n"
    "Everything that happened to a rollout.\n" SERVER_OPTIONS;

static const char ROLLOUT_START_USAGE[] =
    "usage: fotactl rollout start ID [--at UNIX] [server options]\n"
    "\n"
    "Start a created rollout now, or at a time.\n" SERVER_OPTIONS;

static const char ROLLOUT_PAUSE_USAGE[] =
    "usage: fotactl rollout pause ID [server options]\n"
    "\n"
    "Start no more devices; downloads already going on finish.\n" SERVER_OPTIONS;

static const char ROLLOUT_RESUME_USAGE[] =
    "usage: fotactl rollout resume ID [server options]\n"
    "\n"
    "Go on after a pause (one of the operator's, or a threshold's), or open the next stage of\n"
    "a manual rollout.\n" SERVER_OPTIONS;

static const char ROLLOUT_CANCEL_USAGE[] = "usage: fotactl rollout cancel ID [server options]\n"
                                           "\n"
                                           "Stop for good: nothing more is offered, downloads stop "
                                           "at their next request.\n" SERVER_OPTIONS;

static const char ROLLOUT_INSTALL_USAGE[] =
    "usage: fotactl rollout install ID [--action forced|soft] [server options]\n"
    "\n"
    "A download_only rollout: the devices that wait with the image install it.\n" SERVER_OPTIONS;

static const char ROLLOUT_UPDATE_USAGE[] =
    "usage: fotactl rollout update ID [failure options] [pacing options] [server options]\n"
    "\n"
    "Change a rollout's thresholds, timeout, rate or window (see rollout create).\n" SERVER_OPTIONS;

static const char ROLLOUT_USAGE[] = "usage: fotactl rollout COMMAND ...\n"
                                    "\n"
                                    "  create    a staged rollout of a release\n"
                                    "  list      every rollout\n"
                                    "  show      one rollout, per stage (--watch: live)\n"
                                    "  history   what happened to a rollout\n"
                                    "  start, pause, resume, cancel, install, update\n";

static const char TOKEN_CREATE_USAGE[] =
    "usage: fotactl token create --name N --role viewer|operator|admin [server options]\n"
    "\n"
    "Make an admin token. It is printed once: fotad keeps only its SHA-256. viewer reads,\n"
    "operator also runs rollouts, assignments, device tags and enrollments, admin does\n"
    "everything (docs/ADMIN_API.md, \"Roles and tokens\"). Needs an admin token.\n" SERVER_OPTIONS;

static const char TOKEN_LIST_USAGE[] = "usage: fotactl token list [server options]\n"
                                       "\n"
                                       "Every token made (never the token itself): id, name, role, "
                                       "who made it, when revoked.\n" SERVER_OPTIONS;

static const char TOKEN_REVOKE_USAGE[] =
    "usage: fotactl token revoke ID [server options]\n"
    "\n"
    "Revoke a token: every fotad on the store refuses it from its next request.\n" SERVER_OPTIONS;

static const char TOKEN_USAGE[] = "usage: fotactl token COMMAND ...\n"
                                  "\n"
                                  "  create    make an admin token with a role\n"
                                  "  list      every token made\n"
                                  "  revoke    revoke one\n";

static const char AUDIT_USAGE[] =
    "usage: fotactl audit [--limit N] [--token-id ID] [--since UNIX] [--before SEQ]\n"
    "                     [server options]\n"
    "\n"
    "The audit log, newest first: every admin request that changed something or was refused\n"
    "for its role, with its token, role, action, target, client and answer. --limit rows\n"
    "(default 50, at most 1000); --token-id only one token's (its id, or bootstrap; --token is\n"
    "the token fotactl sends); --since only from that time; --before SEQ the page after the\n"
    "one that ended at SEQ.\n" SERVER_OPTIONS;

static int token_group(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fota_cli_cmd_t cmds[] = {
        {"create", "make a token", TOKEN_CREATE_USAGE, fotactl_token_create},
        {"list", "every token made", TOKEN_LIST_USAGE, fotactl_token_list},
        {"revoke", "revoke a token", TOKEN_REVOKE_USAGE, fotactl_token_revoke},
    };
    static const fota_cli_tool_t tool = {FOTACTL_TOKEN, "Admin tokens.", cmds, FOTACTL_N(cmds)};
    (void)cmd;
    return fota_cli_dispatch(&tool, argc, argv);
}

static int release_group(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fota_cli_cmd_t cmds[] = {
        {"create", "build and sign a bundle (offline)", CREATE_USAGE, fotactl_release_create},
        {"delta", "build and sign a delta bundle (offline)", DELTA_USAGE, fotactl_release_delta},
        {"inspect", "show and check a bundle (offline)", INSPECT_USAGE, fotactl_release_inspect},
        {"upload", "send a bundle to fotad", UPLOAD_USAGE, fotactl_release_upload},
        {"list", "releases on fotad", RELEASE_LIST_USAGE, fotactl_release_list},
        {"show", "one release on fotad", RELEASE_SHOW_USAGE, fotactl_release_show},
    };
    static const fota_cli_tool_t tool = {FOTACTL_RELEASE, "Releases.", cmds, FOTACTL_N(cmds)};
    (void)cmd;
    return fota_cli_dispatch(&tool, argc, argv);
}

static int device_group(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fota_cli_cmd_t cmds[] = {
        {"list", "devices fotad knows", DEVICE_LIST_USAGE, fotactl_device_list},
        {"show", "one device and its reports", DEVICE_SHOW_USAGE, fotactl_device_show},
        {"key", "derive a device key (offline)", DEVICE_KEY_USAGE, fotactl_device_key},
        {"tag", "add or remove tags", DEVICE_TAG_USAGE, fotactl_device_tag},
    };
    static const fota_cli_tool_t tool = {FOTACTL_DEVICE, "Devices.", cmds, FOTACTL_N(cmds)};
    (void)cmd;
    return fota_cli_dispatch(&tool, argc, argv);
}

static int product_group(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fota_cli_cmd_t cmds[] = {
        {"create", "set a product's chip", PRODUCT_CREATE_USAGE, fotactl_product_create},
        {"list", "products on fotad", PRODUCT_LIST_USAGE, fotactl_product_list},
        {"show", "one product on fotad", PRODUCT_SHOW_USAGE, fotactl_product_show},
    };
    static const fota_cli_tool_t tool = {FOTACTL_PRODUCT, "Products.", cmds, FOTACTL_N(cmds)};
    (void)cmd;
    return fota_cli_dispatch(&tool, argc, argv);
}

static int legacy_group(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fota_cli_cmd_t cmds[] = {
        {"show", "the bridge's setting and counts", LEGACY_SHOW_USAGE, fotactl_legacy_show},
        {"set", "serve a bridge release", LEGACY_SET_USAGE, fotactl_legacy_set},
        {"off", "turn the bridge off", LEGACY_OFF_USAGE, fotactl_legacy_off},
    };
    static const fota_cli_tool_t tool = {FOTACTL_LEGACY, "The legacy bridge.", cmds,
                                         FOTACTL_N(cmds)};
    (void)cmd;
    return fota_cli_dispatch(&tool, argc, argv);
}

static int enroll_group(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fota_cli_cmd_t cmds[] = {
        {"list", "key registrations", ENROLL_LIST_USAGE, fotactl_enroll_list},
        {"approve", "approve registrations", ENROLL_APPROVE_USAGE, fotactl_enroll_approve},
        {"reject", "reject or revoke registrations", ENROLL_REJECT_USAGE, fotactl_enroll_reject},
        {"delete", "forget registrations", ENROLL_DELETE_USAGE, fotactl_enroll_delete},
    };
    static const fota_cli_tool_t tool = {FOTACTL_ENROLL, "Enrollments.", cmds, FOTACTL_N(cmds)};
    (void)cmd;
    return fota_cli_dispatch(&tool, argc, argv);
}

static int rollout_group(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fota_cli_cmd_t cmds[] = {
        {"create", "a staged rollout", ROLLOUT_CREATE_USAGE, fotactl_rollout_create},
        {"list", "every rollout", ROLLOUT_LIST_USAGE, fotactl_rollout_list},
        {"show", "one rollout per stage", ROLLOUT_SHOW_USAGE, fotactl_rollout_show},
        {"history", "a rollout's events", ROLLOUT_HISTORY_USAGE, fotactl_rollout_history},
        {"start", "start a rollout", ROLLOUT_START_USAGE, fotactl_rollout_start},
        {"pause", "pause a rollout", ROLLOUT_PAUSE_USAGE, fotactl_rollout_pause},
        {"resume", "resume a rollout", ROLLOUT_RESUME_USAGE, fotactl_rollout_resume},
        {"cancel", "cancel a rollout", ROLLOUT_CANCEL_USAGE, fotactl_rollout_cancel},
        {"install", "install what download_only fetched", ROLLOUT_INSTALL_USAGE,
         fotactl_rollout_install},
        {"update", "change thresholds, rate, window", ROLLOUT_UPDATE_USAGE, fotactl_rollout_update},
    };
    static const fota_cli_tool_t tool = {FOTACTL_ROLLOUT, "Rollouts.", cmds, FOTACTL_N(cmds)};
    (void)cmd;
    return fota_cli_dispatch(&tool, argc, argv);
}

static int assignment_group(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fota_cli_cmd_t cmds[] = {
        {"list", "assignments on fotad", ASSIGNMENT_LIST_USAGE, fotactl_assignment_list},
    };
    static const fota_cli_tool_t tool = {FOTACTL_ASSIGNMENT, "Assignments.", cmds, FOTACTL_N(cmds)};
    (void)cmd;
    return fota_cli_dispatch(&tool, argc, argv);
}

int main(int argc, char **argv)
{
    static const fota_cli_cmd_t cmds[] = {
        {"keygen", "make a release key pair (offline)", KEYGEN_USAGE, fotactl_keygen},
        {"release", "create, inspect, upload, list and show releases", RELEASE_USAGE,
         release_group},
        {"product", "create, list and show products and their chips", PRODUCT_USAGE, product_group},
        {"device", "list and show devices; derive a device key", DEVICE_USAGE, device_group},
        {"assign", "assign a release to a device or a product", ASSIGN_USAGE, fotactl_assign},
        {"assignment", "list assignments", ASSIGNMENT_USAGE, assignment_group},
        {"rollout", "staged rollouts that stop themselves", ROLLOUT_USAGE, rollout_group},
        {"legacy", "the bridge for devices on the original firmware", LEGACY_USAGE, legacy_group},
        {"enroll", "approve or reject bridge devices' keys", ENROLL_USAGE, enroll_group},
        {"token", "admin tokens with roles: create, list, revoke", TOKEN_USAGE, token_group},
        {"audit", "the audit log of admin actions", AUDIT_USAGE, fotactl_audit},
    };
    static const fota_cli_tool_t tool = {
        FOTACTL, "Operator CLI for fota: release keys, signed releases, fotad's admin API.", cmds,
        FOTACTL_N(cmds)};
    return fota_cli_dispatch(&tool, argc, argv);
}
