/* SPDX-License-Identifier: MIT */
/* Equality of two loaded configs' parts, for a reload: what is equal keeps
 * running untouched (an endpoint's queue, a collector's state). */
#include "config/config.h"

#include <string.h>

static bool str_equal(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool config_kv_equal(const struct kv *a, size_t n_a, const struct kv *b, size_t n_b)
{
	if (n_a != n_b)
		return false;
	for (size_t i = 0; i < n_a; i++)
		if (!str_equal(a[i].key, b[i].key) || !str_equal(a[i].value, b[i].value))
			return false;
	return true;
}

static bool tls_equal(const struct tls_config *a, const struct tls_config *b)
{
	return str_equal(a->ca_file, b->ca_file) && str_equal(a->cert_file, b->cert_file) &&
	       str_equal(a->key_file, b->key_file) && str_equal(a->server_name, b->server_name) &&
	       a->insecure_skip_verify == b->insecure_skip_verify;
}

static bool auth_equal(const struct remote_write_config *a, const struct remote_write_config *b)
{
	const struct basic_auth *ba = &a->basic_auth, *bb = &b->basic_auth;
	const struct authorization *aa = &a->authorization, *ab = &b->authorization;

	return a->has_basic_auth == b->has_basic_auth &&
	       str_equal(ba->username, bb->username) && str_equal(ba->password, bb->password) &&
	       str_equal(ba->password_file, bb->password_file) &&
	       a->has_authorization == b->has_authorization && str_equal(aa->type, ab->type) &&
	       str_equal(aa->credentials, ab->credentials) &&
	       str_equal(aa->credentials_file, ab->credentials_file);
}

static bool proxy_sigv4_equal(const struct remote_write_config *a,
			      const struct remote_write_config *b)
{
	const struct sigv4_config *sa = &a->sigv4, *sb = &b->sigv4;

	return str_equal(a->proxy.url, b->proxy.url) &&
	       str_equal(a->proxy.no_proxy, b->proxy.no_proxy) &&
	       a->proxy.from_environment == b->proxy.from_environment &&
	       a->has_sigv4 == b->has_sigv4 && str_equal(sa->region, sb->region) &&
	       str_equal(sa->access_key, sb->access_key) &&
	       str_equal(sa->secret_key, sb->secret_key) && str_equal(sa->profile, sb->profile) &&
	       str_equal(sa->role_arn, sb->role_arn);
}

static bool oauth2_equal(const struct remote_write_config *a,
			 const struct remote_write_config *b)
{
	const struct oauth2_config *oa = &a->oauth2, *ob = &b->oauth2;

	if (a->has_oauth2 != b->has_oauth2 || oa->n_scopes != ob->n_scopes)
		return false;
	for (size_t i = 0; i < oa->n_scopes; i++)
		if (!str_equal(oa->scopes[i], ob->scopes[i]))
			return false;
	return str_equal(oa->client_id, ob->client_id) &&
	       str_equal(oa->client_secret, ob->client_secret) &&
	       str_equal(oa->client_secret_file, ob->client_secret_file) &&
	       str_equal(oa->token_url, ob->token_url) &&
	       config_kv_equal(oa->endpoint_params, oa->n_endpoint_params, ob->endpoint_params,
			       ob->n_endpoint_params) &&
	       tls_equal(&oa->tls, &ob->tls) && str_equal(oa->proxy.url, ob->proxy.url) &&
	       str_equal(oa->proxy.no_proxy, ob->proxy.no_proxy) &&
	       oa->proxy.from_environment == ob->proxy.from_environment;
}

/* queue_config and connection_config hold integers and bools only: the
 * fields are compared one by one (no padding bytes read). */
static bool queue_equal(const struct queue_config *a, const struct queue_config *b)
{
	return a->capacity == b->capacity && a->max_shards == b->max_shards &&
	       a->min_shards == b->min_shards && a->max_samples_per_send == b->max_samples_per_send &&
	       a->batch_send_deadline_ms == b->batch_send_deadline_ms &&
	       a->min_backoff_ms == b->min_backoff_ms && a->max_backoff_ms == b->max_backoff_ms &&
	       a->retry_on_http_429 == b->retry_on_http_429 &&
	       a->sample_age_limit_ms == b->sample_age_limit_ms &&
	       a->max_retry_after_ms == b->max_retry_after_ms &&
	       a->max_disk_bytes == b->max_disk_bytes && a->rate_limit == b->rate_limit &&
	       a->catchup_jitter_ms == b->catchup_jitter_ms;
}

bool config_remote_write_equal(const struct remote_write_config *a,
			       const struct remote_write_config *b)
{
	return str_equal(a->url, b->url) && str_equal(a->name, b->name) &&
	       a->remote_timeout_ms == b->remote_timeout_ms &&
	       config_kv_equal(a->headers, a->n_headers, b->headers, b->n_headers) &&
	       auth_equal(a, b) && tls_equal(&a->tls, &b->tls) && queue_equal(&a->queue, &b->queue) &&
	       a->connection.max_requests == b->connection.max_requests &&
	       a->connection.max_age_ms == b->connection.max_age_ms &&
	       a->follow_redirects == b->follow_redirects && proxy_sigv4_equal(a, b) &&
	       oauth2_equal(a, b) && config_rw_protocol_equal(a, b) &&
	       config_relabel_equal(&a->write_relabel_configs, &b->write_relabel_configs);
}

static bool opt_equal(const struct opt_desc *d, const char *a, const char *b)
{
	switch (d->type) {
	case OPT_BOOL:
		return *(const bool *)(a + d->offset) == *(const bool *)(b + d->offset);
	case OPT_INT:
	case OPT_DURATION:
		return *(const int64_t *)(a + d->offset) == *(const int64_t *)(b + d->offset);
	case OPT_STRING:
	case OPT_REGEX:
	case OPT_ENUM:
		return str_equal(*(char *const *)(a + d->offset), *(char *const *)(b + d->offset));
	}
	return false;
}

bool config_section_equal(const struct section_config *a, const struct section_config *b)
{
	if (a->schema != b->schema || a->enabled != b->enabled)
		return false;
	if (!a->schema->opts || !a->opts || !b->opts)
		return a->opts == b->opts || !a->schema->opts_size;
	for (const struct opt_desc *d = a->schema->opts; d->name; d++)
		if (!opt_equal(d, a->opts, b->opts))
			return false;
	return true;
}
