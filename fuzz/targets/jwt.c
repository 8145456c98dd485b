
/*
 * The JWT parser and verifier (Authorization: Bearer, the session
 * cookie): the first input byte says what the rest is. Even: a token, as
 * it comes, verified against an HS256, an ES256 and an EdDSA key. Odd: a
 * payload, signed with one of those keys (bits 1-2), then verified: so
 * that the claims' checks (exp, nbf, iss, aud, sub, role, teams) are
 * reached, which a token with a forged signature never gets to.
 */

#include "../fuzz.h"
#include <ngx_kanban_jwt.h>
#include <openssl/evp.h>


static ngx_kanban_jwt_verifier_t  verifier;
static ngx_kanban_jwt_key_t      *keys;


static void
kanban_fuzz_jwt_keys(void)
{
    ngx_pool_t  *pool;

    pool = ngx_create_pool(4096, kanban_fuzz_init());

    verifier.keys = ngx_array_create(pool, 3, sizeof(ngx_kanban_jwt_key_t));
    keys = ngx_array_push_n(verifier.keys, 3);
    ngx_memzero(keys, 3 * sizeof(ngx_kanban_jwt_key_t));

    keys[0].alg = NGX_KANBAN_JWT_HS256;
    ngx_str_set(&keys[0].kid, "hs");
    ngx_str_set(&keys[0].secret, "a fuzzing secret of thirty-two bytes!");
    keys[0].can_sign = 1;

    keys[1].alg = NGX_KANBAN_JWT_ES256;
    ngx_str_set(&keys[1].kid, "es");
    keys[1].pkey = EVP_EC_gen("P-256");
    keys[1].can_sign = 1;

    keys[2].alg = NGX_KANBAN_JWT_EDDSA;
    ngx_str_set(&keys[2].kid, "ed");
    keys[2].pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    keys[2].can_sign = 1;

    ngx_str_set(&verifier.issuer, "kanban");
    ngx_str_set(&verifier.audience, "kanban");
    verifier.leeway = 30;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                     *why;
    ngx_str_t                 in, token;
    ngx_pool_t               *pool;
    ngx_kanban_jwt_claims_t   claims;

    if (size < 1) {
        return 0;
    }

    if (keys == NULL) {
        kanban_fuzz_jwt_keys();
    }

    pool = ngx_create_pool(1024, kanban_fuzz_init());
    if (pool == NULL) {
        return 0;
    }

    in.len = size - 1;
    in.data = kanban_fuzz_copy(pool, data + 1, size - 1);
    if (in.data == NULL) {
        goto done;
    }

    token = in;

    if ((data[0] & 1)
        && ngx_kanban_jwt_sign(pool, &keys[(data[0] >> 1) % 3], &in, &token)
           != NGX_OK)
    {
        goto done;
    }

    ngx_memzero(&claims, sizeof(ngx_kanban_jwt_claims_t));

    if (ngx_kanban_jwt_verify(pool, &verifier, &token, &claims, &why)
        == NGX_OK
        && claims.sub.len == 0)
    {
        __builtin_trap();       /* a verified token names its subject */
    }

done:

    ngx_destroy_pool(pool);

    return 0;
}
