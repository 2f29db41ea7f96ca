/* orb_sgp4.c - SGP4/SDP4 propagation (see orb_sgp4.h). */
#include "orb_sgp4.h"

#include <string.h>

int orb_sgp4_init(orb_sgp4 *s, const orb_elements *el, cs_err *err)
{
    memset(s, 0, sizeof *s);
    s->el = *el;
    return cs_err_set(err, CS_EFAIL, NULL, 0, 0, "sgp4: not implemented yet");
}

int orb_sgp4_propagate(const orb_sgp4 *s, double tsince_min, double r_km[3], double v_kms[3])
{
    (void)s;
    (void)tsince_min;
    for (int i = 0; i < 3; i++)
        r_km[i] = v_kms[i] = 0.0;
    return ORB_SGP4_E_ECC;
}

const char *orb_sgp4_strerror(int code)
{
    switch (code) {
    case ORB_SGP4_OK:
        return "ok";
    case ORB_SGP4_E_ECC:
        return "mean eccentricity out of range";
    case ORB_SGP4_E_MEANMOTION:
        return "mean motion not positive";
    case ORB_SGP4_E_PERT_ECC:
        return "perturbed eccentricity out of range";
    case ORB_SGP4_E_SEMILATUS:
        return "semi-latus rectum negative";
    case ORB_SGP4_E_SUBORBITAL:
        return "epoch elements are sub-orbital";
    case ORB_SGP4_E_DECAYED:
        return "satellite has decayed";
    default:
        return "unknown sgp4 error";
    }
}
