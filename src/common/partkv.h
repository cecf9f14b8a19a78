/*-------------------------------------------------------------------------
 *
 * partkv.h
 *	  Declarations shared by every partkv subsystem.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_H
#define PARTKV_H

#define PARTKV_SCHEMA "partkv"

#endif							/* PARTKV_H */
