/*
 * link_proto.h - the serial link between the agent running bare metal under QEMU and
 * fota-qemu-bridge on the host (tests/support-bin/fota-qemu-bridge.c), which carries the agent's
 * HTTP requests to a real server. Shared by both ends; docs/TARGETS.md describes the whole set-up.
 *
 * The line is QEMU's first serial port (an NS16550A on riscv32 virt, a CMSDK APB UART on
 * mps2-an386) connected to a Unix socket. Both directions carry frames:
 *
 *   type (1 byte) | payload length (4 bytes, little-endian) | payload
 *
 * host -> target
 *   FQ_HELLO    the device's settings, as TLVs: tag (1 byte), length (2 bytes LE), value
 *   FQ_BEGIN    a response starts: status (4 bytes LE, signed), Content-Length (8 bytes LE,
 *               signed, -1 when unknown)
 *   FQ_HEADER   a response header the agent reads: name NUL value
 *   FQ_DATA     response body bytes
 *   FQ_END      the response is over: the transport's outcome (4 bytes LE, a fota_err_t)
 * target -> host
 *   FQ_READY    the target is up and its UART set (no payload): the bridge sends FQ_HELLO then
 *   FQ_REQUEST  method NUL target NUL, header count (1 byte), (name NUL value NUL) per header,
 *               content type NUL (empty: none), then the body to the end of the payload
 *   FQ_RESULT   what the run measured and how it ended: text lines "key value"
 *
 * A request gets one FQ_BEGIN when a response came (none when the connection failed), then the
 * headers, the data and one FQ_END.
 */
#ifndef FOTA_QEMU_LINK_PROTO_H
#define FOTA_QEMU_LINK_PROTO_H

#define FQ_HELLO 'H'
#define FQ_BEGIN 'B'
#define FQ_HEADER 'R'
#define FQ_DATA 'D'
#define FQ_END 'E'
#define FQ_READY 'W'
#define FQ_REQUEST 'Q'
#define FQ_RESULT 'X'

#define FQ_FRAME_HEAD 5u  /* type + length */
#define FQ_MAX_DATA 1024u /* the bridge's largest FQ_DATA payload */
#define FQ_MAX_HELLO 2048u

/* FQ_HELLO tags. Numbers are little-endian. */
enum {
    FQ_T_DEVICE_ID = 1,   /* string */
    FQ_T_DEVICE_KEY = 2,  /* 32 bytes */
    FQ_T_PRODUCT = 3,     /* string */
    FQ_T_VERSION = 4,     /* string: the version the running image has */
    FQ_T_RELEASE_KEY = 5, /* PEM (with its NUL) or DER */
    FQ_T_MODE = 6,        /* 1 byte: fota_mode_t */
    FQ_T_CHIP = 7,        /* 2 bytes: the chip id images must carry */
    FQ_T_TIME = 8,        /* 8 bytes: UNIX seconds at the start */
    FQ_T_SEED = 9,        /* 32 bytes: seed of the nonce generator */
    FQ_T_ICOUNT = 10,     /* 1 byte: QEMU's -icount shift (instruction = 2^shift ns) */
    FQ_T_FLOOR = 11,      /* 4 bytes: security floor */
    FQ_T_RANGE = 12,      /* 4 bytes: chain records per Range request (0: to the end) */
    FQ_T_DUMP = 13,       /* string: host path the update slot is written to at the end */
    FQ_T_MEASURE = 14,    /* 4 bytes: bytes of the slot SHA-256 alone is timed over (0: none) */
};

#endif /* FOTA_QEMU_LINK_PROTO_H */
