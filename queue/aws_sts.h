/* SPDX-License-Identifier: MIT */
/* aws_sts: the credentials of sigv4.role_arn, from STS AssumeRole, for one
 * remote_write endpoint, shared by its shards. The AssumeRole request is
 * signed (SigV4, service "sts") with the credentials aws_creds.h finds
 * (the config's keys, the environment, the shared credentials file) and
 * asks for 15 minutes, as the AWS SDK Prometheus uses does (session name:
 * the time in nanoseconds). It goes to AWS_ENDPOINT_URL_STS, else
 * AWS_ENDPOINT_URL, else https://sts.<region>.amazonaws.com/, as the AWS
 * SDK's default client sends it: the environment's proxy (https_proxy,
 * no_proxy), the system's CAs; never the endpoint's. The role's
 * credentials are kept until a minute (or half their lifetime, if
 * shorter) before their Expiration, then assumed again by the first
 * request that needs them. A failure is said once per change of reason
 * (the HTTP status and STS's error code); no key or token is ever logged. */
#ifndef BPFPUSH_AWS_STS_H
#define BPFPUSH_AWS_STS_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "queue/aws_creds.h"

struct aws_sts;

/* NULL on failure (logged). cfg (sigv4 with role_arn) must outlive it. */
struct aws_sts *aws_sts_create(const struct remote_write_config *cfg, const char *log_name);
void aws_sts_destroy(struct aws_sts *s);

/* The role's credentials (copies: aws_creds_free them), assumed when none
 * are valid; a request in flight ends once CLOCK_MONOTONIC reaches
 * *abort_at_ms. 0, or -1 with why set (never a secret). Thread-safe. */
int aws_sts_credentials(struct aws_sts *s, struct aws_creds *out,
			const _Atomic int64_t *abort_at_ms, char *why, size_t why_size);

#endif
