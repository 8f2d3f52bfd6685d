/* SPDX-License-Identifier: MIT */
/* aws_creds: the AWS credentials a sigv4 endpoint signs with, found the
 * in this order: the config's access_key and
 * secret_key, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (with
 * AWS_SESSION_TOKEN), else the shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials; profile from the
 * config, else AWS_PROFILE, else "default"). Resolved before each request,
 * so a rotated file is picked up. No error text ever holds a secret. */
#ifndef BPFPUSH_AWS_CREDS_H
#define BPFPUSH_AWS_CREDS_H

#include <stddef.h>

#include "config/config.h"

struct aws_creds {
	char *access_key, *secret_key; /* both set on success */
	char *session_token;           /* NULL when there is none */
};

/* 0 with out filled (free with aws_creds_free), or -1 with why set (a
 * path, a profile or a variable name, never a value). */
int aws_creds_resolve(const struct sigv4_config *cfg, struct aws_creds *out, char *why,
		      size_t why_size);

/* Wipes and frees; out may be all NULL. */
void aws_creds_free(struct aws_creds *c);

#endif
