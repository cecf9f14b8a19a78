/*-------------------------------------------------------------------------
 *
 * role_gsi.h
 *	  The GSI worker's settings (its role is kv_gsi_role, role.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAM_ROLE_GSI_H
#define PARTKV_STREAM_ROLE_GSI_H

/* setting (partkv.gsi_worker_nice) */
extern int	kv_gsi_worker_nice;

/* _PG_init's part: partkv.gsi_* */
extern void KvGsiPacingInit(void);

#endif							/* PARTKV_STREAM_ROLE_GSI_H */
