/*
 * products.h - the product service: a product is built on one chip of the ESP32 family, and
 * every release of it must be built for that chip. The image's header says its chip (chip_id,
 * fota/esp_image.h); a device of the product refuses an image of another chip after downloading
 * it (FOTA_ERR_IMAGE_CHIP), so fotad refuses such a release before any device sees it: at upload
 * and at assignment.
 *
 * A product's chip is set once: when an operator creates the product (admin API), or else by the
 * first release uploaded for it. It never changes afterwards. Functions over the store (store.h);
 * thread-safe as the store is: when two writers race to create a product, the store keeps the
 * first and the other is compared with it.
 */
#ifndef FOTAD_PRODUCTS_H
#define FOTAD_PRODUCTS_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* Create a product built on chip_id. *created false: it existed already and *out is what it is
 * (the caller compares chips); true: *out is the new product. */
fota_err_t fotad_products_create(fotad_store_t *s, const char *id, uint16_t chip_id, int64_t now,
                                 fotad_product_rec_t *out, bool *created);

/*
 * A release of `product` built for chip_id is about to be stored: a new product is created with
 * that chip (its first release decides), an existing one must be built on it. FOTA_OK, or
 * FOTA_ERR_IMAGE_CHIP with *out the product and its chip.
 */
fota_err_t fotad_products_admit(fotad_store_t *s, const char *product, uint16_t chip_id,
                                int64_t now, fotad_product_rec_t *out);

/*
 * May a stored release be assigned? FOTA_OK when its product has no record yet or is built on the
 * release's chip; FOTA_ERR_IMAGE_CHIP when it is built on another one (*out says which) or the
 * release's chip is not known (its image could not be read: out->id is then empty).
 */
fota_err_t fotad_products_check_release(fotad_store_t *s, const fotad_release_rec_t *r,
                                        fotad_product_rec_t *out);

fota_err_t fotad_products_get(fotad_store_t *s, const char *id, fotad_product_rec_t *out);
/* Sorted by id. */
fota_err_t fotad_products_list(fotad_store_t *s, fotad_product_fn fn, void *arg);

/* A product id: what a manifest's product may be (1..32 printable ASCII characters). */
bool fotad_is_product_id(const char *s);

#endif /* FOTAD_PRODUCTS_H */
