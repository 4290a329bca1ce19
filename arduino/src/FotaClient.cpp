/*
 * FotaClient.cpp - the Arduino class over the fota ESP-IDF component (FotaClient.h).
 *
 * The component does the work (fota_esp.h); this file maps a FotaConfig onto its configuration,
 * paces loop() by what the agent says (its wait), and turns the agent's events into the
 * sketch's callbacks. It uses only ESP-IDF's C API and no Arduino core header, so it compiles
 * against ESP-IDF alone and runs on the host over the ESP-IDF API double.
 */
#include "FotaClient.h"

#include <string.h>

#include "esp_ota_ops.h"
#include "esp_timer.h"

/* The Arduino core (esp32-hal-misc.c, initArduino) marks a pending image valid at start-up
 * unless this returns true: the decision belongs to the sketch's self-test (markValid). The
 * core's definition is weak; this one replaces it. */
extern "C" bool verifyRollbackLater(void)
{
    return true;
}

FotaClient::~FotaClient()
{
    end();
}

bool FotaClient::begin(const FotaConfig &c)
{
    end();
    fota_esp_config_t e = FOTA_ESP_CONFIG_DEFAULT();
    e.server_url = c.serverUrl;
    e.product_id = c.productId;
    e.device_id = c.deviceId;
    e.device_key = c.deviceKey;
    e.key_partition = c.keyPartition;
    e.key_namespace = c.keyNamespace;
    e.fleet_key = c.fleetKey;
    e.fleet_key_len = c.fleetKeyLen;
    e.version = c.firmwareVersion;
    e.release_key = reinterpret_cast<const uint8_t *>(c.releaseKey);
    e.release_key_len = c.releaseKey != nullptr ? strlen(c.releaseKey) + 1 : 0; /* PEM: its NUL */
    e.security_floor = c.securityFloor;
    e.mode = static_cast<fota_mode_t>(c.mode);
    e.check_interval_ms = c.checkIntervalMs;
    e.chunk_interval_ms = c.requestIntervalMs;
    e.retry_ms = c.retryMs;
    e.range_records = c.chunksPerRequest;
    e.progress_every = c.progressEvery;
    e.request_timeout_ms = c.requestTimeoutMs;
    e.ca_pem = c.caCert;
    e.journal_partition = c.journalPartition;
    e.journal_namespace = c.journalNamespace;
    e.may_reboot = mayReboot_;
    e.on_event = event_;
    e.ctx = this;
    rebootHook_ = c.mayReboot;
    rebootCtx_ = c.rebootCtx;
    nextStepUs_ = 0;
    esp_err_t err = c.releaseKey != nullptr && c.firmwareVersion != nullptr
                        ? fota_esp_init(&e, &handle_)
                        : ESP_ERR_INVALID_ARG;
    beginError_ = fota_esp_err_from_esp(err);
    if (err != ESP_OK) {
        handle_ = nullptr;
        return false;
    }
    return true;
}

void FotaClient::end()
{
    if (handle_ != nullptr) {
        fota_esp_deinit(handle_);
        handle_ = nullptr;
    }
}

void FotaClient::loop()
{
    if (handle_ == nullptr || esp_timer_get_time() < nextStepUs_) {
        return;
    }
    uint32_t wait_ms = 0;
    fota_esp_step(handle_, &wait_ms);
    nextStepUs_ = esp_timer_get_time() + static_cast<int64_t>(wait_ms) * 1000;
}

void FotaClient::checkNow()
{
    if (handle_ != nullptr) {
        fota_esp_check_now(handle_);
        nextStepUs_ = 0;
    }
}

/* Both change what the agent waits for (a pending image waits for this call): the next loop()
 * steps at once. */
bool FotaClient::markValid()
{
    nextStepUs_ = 0;
    return handle_ != nullptr && fota_esp_confirm(handle_) == ESP_OK;
}

bool FotaClient::rollback()
{
    nextStepUs_ = 0;
    if (handle_ == nullptr) { /* begin() failed: the image goes back all the same */
        return pendingVerify() && esp_ota_mark_app_invalid_rollback_and_reboot() == ESP_OK;
    }
    return fota_esp_reject(handle_) == ESP_OK;
}

bool FotaClient::pendingVerify() const
{
    esp_ota_img_states_t st;
    return esp_ota_get_state_partition(esp_ota_get_running_partition(), &st) == ESP_OK &&
           st == ESP_OTA_IMG_PENDING_VERIFY;
}

bool FotaClient::idle() const
{
    return handle_ == nullptr || fota_agent_settled(fota_esp_agent(handle_));
}

void FotaClient::onState(FotaStateCallback cb, void *ctx)
{
    stateCb_ = cb;
    stateCtx_ = ctx;
}

void FotaClient::onProgress(FotaProgressCallback cb, void *ctx)
{
    progressCb_ = cb;
    progressCtx_ = ctx;
}

void FotaClient::onError(FotaErrorCallback cb, void *ctx)
{
    errorCb_ = cb;
    errorCtx_ = ctx;
}

FotaState FotaClient::state() const
{
    return handle_ != nullptr ? fota_esp_state(handle_) : FOTA_STATE_IDLE;
}

FotaError FotaClient::lastError() const
{
    return handle_ != nullptr ? fota_esp_last_error(handle_) : beginError_;
}

const char *FotaClient::errorName() const
{
    return fota_err_name(lastError());
}

uint32_t FotaClient::chunksDone() const
{
    uint32_t done = 0, total = 0;
    if (handle_ != nullptr) {
        fota_esp_progress(handle_, &done, &total);
    }
    return done;
}

uint32_t FotaClient::chunksTotal() const
{
    uint32_t done = 0, total = 0;
    if (handle_ != nullptr) {
        fota_esp_progress(handle_, &done, &total);
    }
    return total;
}

const char *FotaClient::deviceId() const
{
    return handle_ != nullptr ? fota_esp_device_id(handle_) : "";
}

const char *FotaClient::stateName(FotaState s)
{
    return fota_state_name(s);
}

const char *FotaClient::errorName(FotaError err)
{
    return fota_err_name(err);
}

void FotaClient::event_(void *ctx, const fota_event_t *ev)
{
    const FotaClient *c = static_cast<const FotaClient *>(ctx);
    switch (ev->kind) {
    case FOTA_EVENT_STATE:
        if (c->stateCb_ != nullptr) {
            c->stateCb_(ev->state, c->stateCtx_);
        }
        break;
    case FOTA_EVENT_PROGRESS:
        if (c->progressCb_ != nullptr) {
            c->progressCb_(ev->done, ev->total, c->progressCtx_);
        }
        break;
    case FOTA_EVENT_ERROR:
        if (c->errorCb_ != nullptr) {
            c->errorCb_(ev->err, c->errorCtx_);
        }
        break;
    }
}

bool FotaClient::mayReboot_(void *ctx)
{
    const FotaClient *c = static_cast<const FotaClient *>(ctx);
    return c->rebootHook_ == nullptr || c->rebootHook_(c->rebootCtx_);
}
