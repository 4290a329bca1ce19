/*
 * products.c - the product service (products.h): a product's chip, set once, and the two
 * questions fotad asks it - may this upload be stored, may this release be assigned.
 */
#include "products.h"

#include <string.h>

#include "ident.h"

bool fotad_is_product_id(const char *s)
{
    return fotad_is_label(s, FOTAD_LABEL_MAX);
}

fota_err_t fotad_products_create(fotad_store_t *s, const char *id, uint16_t chip_id, int64_t now,
                                 fotad_product_rec_t *out, bool *created)
{
    fotad_product_rec_t p;
    memset(&p, 0, sizeof p);
    if (!fotad_is_product_id(id)) {
        return FOTA_ERR_ARG;
    }
    memcpy(p.id, id, strlen(id) + 1);
    p.chip_id = chip_id;
    p.created = now;
    fota_err_t err = s->ops->product_insert(s->ctx, &p, created);
    if (err == FOTA_OK && *created) {
        *out = p;
        return FOTA_OK;
    }
    return err != FOTA_OK ? err : s->ops->product_get(s->ctx, id, out);
}

fota_err_t fotad_products_admit(fotad_store_t *s, const char *product, uint16_t chip_id,
                                int64_t now, fotad_product_rec_t *out)
{
    bool created = false;
    fota_err_t err = fotad_products_create(s, product, chip_id, now, out, &created);
    if (err != FOTA_OK) {
        return err;
    }
    return out->chip_id == chip_id ? FOTA_OK : FOTA_ERR_IMAGE_CHIP;
}

fota_err_t fotad_products_check_release(fotad_store_t *s, const fotad_release_rec_t *r,
                                        fotad_product_rec_t *out)
{
    memset(out, 0, sizeof *out);
    if (r->chip_id == FOTAD_CHIP_UNKNOWN) {
        return FOTA_ERR_IMAGE_CHIP;
    }
    fota_err_t err = s->ops->product_get(s->ctx, r->product, out);
    if (err == FOTA_ERR_NOT_FOUND) {
        memset(out, 0, sizeof *out);
        return FOTA_OK;
    }
    if (err != FOTA_OK) {
        return err;
    }
    return out->chip_id == (uint16_t)r->chip_id ? FOTA_OK : FOTA_ERR_IMAGE_CHIP;
}

fota_err_t fotad_products_get(fotad_store_t *s, const char *id, fotad_product_rec_t *out)
{
    if (!fotad_is_product_id(id)) {
        return FOTA_ERR_NOT_FOUND;
    }
    return s->ops->product_get(s->ctx, id, out);
}

fota_err_t fotad_products_list(fotad_store_t *s, fotad_product_fn fn, void *arg)
{
    return s->ops->product_list(s->ctx, fn, arg);
}
