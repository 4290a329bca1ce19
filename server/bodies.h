/*
 * bodies.h - the JSON request bodies fotad accepts, parsed and checked into store records: the
 * device's report (docs/PROTOCOL.md 4.5) and the admin API's assignment (docs/ADMIN_API.md,
 * POST /api/admin/assignments). Pure functions over the body bytes: no store, no HTTP, so the
 * handlers (api_device.c, api_admin.c), the unit tests and the fuzz targets call the same code.
 */
#ifndef FOTAD_BODIES_H
#define FOTAD_BODIES_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/*
 * A report body into *r (zeroed first; r->time is left 0 for the caller). NULL when the body is
 * a valid report, else a static text for the 400 answer: what is wrong with the JSON
 * (fotad_json_parse_object) or "missing or invalid field NAME".
 */
const char *fotad_report_parse(const uint8_t *body, size_t len, fotad_report_rec_t *r);

/*
 * An assignment body into *a (zeroed first; a->updated is left 0). NULL when valid, else a static
 * text for the 400 answer (the JSON's problem, or which field is wrong).
 */
const char *fotad_assignment_parse(const uint8_t *body, size_t len, fotad_assignment_rec_t *a);

#endif /* FOTAD_BODIES_H */
