/*-------------------------------------------------------------------------
 *
 * partkv.h
 *	  Declarations shared by every partkv subsystem.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_H
#define PARTKV_H

/* the API schema: what users call and read */
#define PARTKV_SCHEMA "partkv"
/* what the API is built from: helpers, support functions, the stream's chunks */
#define PARTKV_INTERNAL_SCHEMA "partkv_internal"

#endif							/* PARTKV_H */
