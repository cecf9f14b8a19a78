/*-------------------------------------------------------------------------
 *
 * gucalias.h
 *	  Deprecated names of renamed settings, kept working.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_COMMON_GUCALIAS_H
#define PARTKV_COMMON_GUCALIAS_H

/*
 * Defines old_name as a deprecated alias of the setting new_name (an int
 * or bool setting defined just before): see gucalias.c.
 */
extern void KvDefineGucAlias(const char *old_name, const char *new_name);

#endif							/* PARTKV_COMMON_GUCALIAS_H */
