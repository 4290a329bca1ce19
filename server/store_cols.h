/*
 * store_cols.h - the column lists of fotad's tables, in the order the SQLite and PostgreSQL
 * backends read them back (store_sqlite_ops.c, store_pg_sql.c, and their fill_* readers): one
 * list for both, so that the two schemas' readers cannot drift apart. A device's tags come from
 * a subquery each dialect writes its own way, after DEV_BASE_COLS. Not a public header.
 */
#ifndef FOTAD_STORE_COLS_H
#define FOTAD_STORE_COLS_H

#define REL_COLS                                                                                   \
    "id,product,version,security_version,image_size,chunk_size,chunk_count,blob_size,"             \
    "image_sha256,blob_sha256,created,uploaded,manifest,chip"
#define PROD_COLS "id,chip,created"
#define DELTA_COLS                                                                                 \
    "id,release_id,source_sha256,source_size,patch_size,chunk_size,chunk_count,blob_size,"         \
    "blob_sha256,created,uploaded,manifest"
#define DEV_BASE_COLS                                                                              \
    "id,product,version,state,release_id,offered,done,total,last_error,first_seen,last_seen"
#define RO_COLS                                                                                    \
    "name,product,release_id,rollback_release,tags,explicit_devices,state,action,"                 \
    "rollback_on_failure,current_stage,rollback_stage,paused_reason,timeout_s,rate_per_minute,"    \
    "rate_after_successes,rate_then_per_minute,window_cron,window_offset_s,window_duration_s,"     \
    "finish_running,max_failures,max_failure_percent,min_finished,created,start_at,started,"       \
    "finished"
#define STAGE_COLS                                                                                 \
    "idx,kind,amount,success_percent,soak_s,manual,max_failures,max_failure_percent,"              \
    "min_finished,boundary,opened,done_since"
#define MEMBER_COLS "rollout,device,stage,status,started,last_activity,reason"
#define REPORT_COLS "time,state,release_id,version,running,done,total,error"
#define LEGACY_COLS "product,bridge_release,mac_field,updated"
#define ENROLL_COLS "device_id,product,key_wrapped,state,address,requested,decided"
#define TOKEN_COLS "id,name,role,sha256,created,created_by,revoked"
#define AUDIT_COLS "time,token,role,action,target,client,status"

#endif /* FOTAD_STORE_COLS_H */
