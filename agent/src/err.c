/*
 * err.c - names and descriptions for fota_err_t codes, generated from the list in err.h; left out
 * of a build with FOTA_CONFIG_ERR_NAMES 0 (fota_config.h), where only the numbers remain.
 */
#include "fota/err.h"
#include "fota/fota_config.h"

#if FOTA_CONFIG_ERR_NAMES

const char *fota_err_name(fota_err_t err)
{
    switch (err) {
#define FOTA_ERR_NAME_CASE_(name, value, text)                                                     \
    case name:                                                                                     \
        return #name;
        FOTA_ERR_LIST(FOTA_ERR_NAME_CASE_)
#undef FOTA_ERR_NAME_CASE_
    }
    return "FOTA_ERR_UNKNOWN";
}

const char *fota_err_text(fota_err_t err)
{
    switch (err) {
#define FOTA_ERR_TEXT_CASE_(name, value, text)                                                     \
    case name:                                                                                     \
        return text;
        FOTA_ERR_LIST(FOTA_ERR_TEXT_CASE_)
#undef FOTA_ERR_TEXT_CASE_
    }
    return "unknown error";
}
#else
const char *fota_err_name(fota_err_t err)
{
    (void)err;
    return "FOTA_ERR_UNNAMED";
}

const char *fota_err_text(fota_err_t err)
{
    (void)err;
    return "error names not built in (FOTA_CONFIG_ERR_NAMES 0)";
}
#endif
