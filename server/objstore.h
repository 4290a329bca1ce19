/*
 * objstore.h - content-addressed files under the data directory: objects/ab/cdef... holds the
 * bytes whose SHA-256 is abcdef... (64 hex digits). Images, blobs and manifests of releases are
 * kept there; the database names them by digest.
 *
 * A write is atomic and durable before it returns: the bytes go to a temporary file in tmp/
 * (same file system), which is fsync'ed, renamed into place, and the directory fsync'ed. A crash
 * leaves either no object or the whole object (temporary files are removed at the next open).
 * Writing an object that exists is a no-op, so concurrent uploads of the same bytes are safe.
 *
 * Several fotad sharing one database (PostgreSQL, docs/SCALING.md) share no file system: there
 * the database holds every object, and this directory is each node's cache of it. With a source
 * set (fotad_objstore_set_source), put also hands the bytes to the source, and ensure fetches an
 * object this node lacks, checks that its bytes hash to its name, and writes it here as put does.
 */
#ifndef FOTAD_OBJSTORE_H
#define FOTAD_OBJSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"

#include "ident.h"

typedef struct fotad_objstore fotad_objstore_t;

/* Open (creating objects/ and tmp/) under data_dir, which must exist. FOTA_ERR_IO (logged). */
fota_err_t fotad_objstore_open(const char *data_dir, fotad_objstore_t **out);
void fotad_objstore_close(fotad_objstore_t *o);

/* Store len bytes whose SHA-256 is sha256 (the caller computed it). FOTA_ERR_IO (logged). */
fota_err_t fotad_objstore_put(fotad_objstore_t *o, const uint8_t sha256[32], const void *p,
                              size_t len);

/* The shared copy of every object: `put` stores bytes under their hex SHA-256 (a no-op when
 * present), `fetch` returns them (malloc'd, the caller frees) or FOTA_ERR_NOT_FOUND. */
typedef struct {
    void *ctx;
    fota_err_t (*put)(void *ctx, const char *hex, const uint8_t *data, size_t len);
    fota_err_t (*fetch)(void *ctx, const char *hex, uint8_t **data, size_t *len);
} fotad_object_source_t;

/* From now on put writes through to src and ensure fetches from it. */
void fotad_objstore_set_source(fotad_objstore_t *o, const fotad_object_source_t *src);

/* Object `hex` is in this directory afterwards: at once if it is; else (with a source) fetched,
 * its SHA-256 checked against its name (FOTA_ERR_IO, logged, and nothing written, when they
 * differ) and written. FOTA_ERR_NOT_FOUND when neither has it. */
fota_err_t fotad_objstore_ensure(fotad_objstore_t *o, const char *hex);

/* The name of object `hex` (64 hex digits) relative to the objects directory, "ab/cdef...",
 * into out (FOTAD_OBJSTORE_NAME_LEN + 1 bytes suffice); FOTA_ERR_TOO_LARGE if cap is too small.
 * A web server whose root is DATA_DIR/objects/ finds the object under this name. */
#define FOTAD_OBJSTORE_NAME_LEN 65u
fota_err_t fotad_objstore_name(const char *hex, char *out, size_t cap);

/* The path of object `hex` (64 hex digits) into out; FOTA_ERR_TOO_LARGE if cap is too small. */
fota_err_t fotad_objstore_path(const fotad_objstore_t *o, const char *hex, char *out, size_t cap);

/* Object `hex`, ensured (as fotad_objstore_ensure), mapped read-only into *out after a check that
 * it has `size` bytes (munmap it with that size). FOTA_ERR_IO (logged) when it is missing, of
 * another size or cannot be mapped. Objects are never rewritten, so a mapping stays valid. */
fota_err_t fotad_objstore_map(fotad_objstore_t *o, const char *hex, uint64_t size,
                              const uint8_t **out);

#endif /* FOTAD_OBJSTORE_H */
