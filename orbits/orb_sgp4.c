/* orb_sgp4.c - SGP4 initialisation and propagation (see orb_sgp4.h), after Vallado et al. 2006
 * ("Revisiting Spacetrack Report #3", routines initl, sgp4init and sgp4). The deep-space part is
 * in orb_sdp4.c.
 *
 * Internal units: distances in earth radii, time in minutes, angles in radians.
 */
#include "orb_sgp4.h"

#include <math.h>
#include <string.h>

#include "orb_sgp4_internal.h"

/* Julian date of 1950 Jan 0.0 UTC, the origin of the report's internal epoch. */
#define JD_1950 2433281.5

double orb__xke(void)
{
    return 60.0 / sqrt(ORB__RE * ORB__RE * ORB__RE / ORB__MU);
}

/* Greenwich mean sidereal time (IAU-82) at a UT1 Julian date, in [0, 2 pi). */
static double gmst_iau82(double jd_ut1)
{
    const double deg2rad = ORB__PI / 180.0;
    const double tut1 = (jd_ut1 - 2451545.0) / 36525.0;
    double s = -6.2e-6 * tut1 * tut1 * tut1 + 0.093104 * tut1 * tut1 +
               (876600.0 * 3600 + 8640184.812866) * tut1 + 67310.54841; /* seconds */
    s = fmod(s * deg2rad / 240.0, ORB__TWOPI);
    if (s < 0.0)
        s += ORB__TWOPI;
    return s;
}

/* Sidereal angle at epoch by the historical AFSPC formula (days counted from 1970 Jan 0.0). */
static double gmst_afspc(double epoch_1950)
{
    const double ts70 = epoch_1950 - 7305.0;
    const double ds70 = floor(ts70 + 1.0e-8);
    const double tfrac = ts70 - ds70;
    const double c1 = 1.72027916940703639e-2;
    const double thgr70 = 1.7321343856509374;
    const double fk5r = 5.07551419432269442e-15;
    const double c1p2p = c1 + ORB__TWOPI;
    double g = fmod(thgr70 + c1 * ds70 + c1p2p * tfrac + ts70 * ts70 * fk5r, ORB__TWOPI);
    if (g < 0.0)
        g += ORB__TWOPI;
    return g;
}

/* The propagation itself; returns 0 or Vallado's code. */
static int sgp4_eval(const orb_sgp4 *s, double t, double r_km[3], double v_kms[3])
{
    const double xke = orb__xke();
    const double vkmpersec = ORB__RE * xke / 60.0;
    const orb_elements *el = &s->el;

    /* secular gravity and atmospheric drag */
    const double xmdf = el->mean_anom_rad + s->mdot * t;
    const double argpdf = el->argp_rad + s->argpdot * t;
    const double nodedf = el->raan_rad + s->nodedot * t;
    double argpm = argpdf;
    double mm = xmdf;
    const double t2 = t * t;
    double nodem = nodedf + s->nodecf * t2;
    double tempa = 1.0 - s->cc1 * t;
    double tempe = el->bstar * s->cc4 * t;
    double templ = s->t2cof * t2;

    if (!s->simple) {
        const double delomg = s->omgcof * t;
        /* Without drag (bstar 0, e.g. Walker shells) xmcof and the bstar factor below are zero:
         * the terms they multiply are not evaluated (the sum is the same to the bit). */
        const double delm =
            s->xmcof != 0.0 ? s->xmcof * (pow(1.0 + s->eta * cos(xmdf), 3) - s->delmo) : 0.0;
        const double temp = delomg + delm;
        mm = xmdf + temp;
        argpm = argpdf - temp;
        const double t3 = t2 * t;
        const double t4 = t3 * t;
        tempa = tempa - s->d2 * t2 - s->d3 * t3 - s->d4 * t4;
        if (el->bstar != 0.0)
            tempe = tempe + el->bstar * s->cc5 * (sin(mm) - s->sinmao);
        templ = templ + s->t3cof * t3 + t4 * (s->t4cof + t * s->t5cof);
    }

    double nm = s->no;
    double em = el->ecc;
    double inclm = el->incl_rad;
    if (s->deep)
        orb__sdp4_secular(s, t, &em, &argpm, &inclm, &mm, &nodem, &nm);

    if (nm <= 0.0)
        return ORB_SGP4_E_MEANMOTION;
    /* Near-Earth orbits keep nm = no: the powers of it are those precomputed at init (the same
     * expressions, so the same bits), and without drag (tempa exactly 1) so is the second. */
    const double am = (s->deep ? pow(xke / nm, 2.0 / 3.0) : s->am_no) * tempa * tempa;
    nm = !s->deep && tempa == 1.0 ? s->nm_no : xke / pow(am, 1.5);
    em = em - tempe;
    if (em >= 1.0 || em < -0.001 || isnan(em))
        return ORB_SGP4_E_ECC;
    if (em < 1.0e-6)
        em = 1.0e-6;
    mm = mm + s->no * templ;
    double xlm = mm + argpm + nodem;

    nodem = fmod(nodem, ORB__TWOPI);
    argpm = fmod(argpm, ORB__TWOPI);
    xlm = fmod(xlm, ORB__TWOPI);
    mm = fmod(xlm - argpm - nodem, ORB__TWOPI);

    /* lunar-solar periodics */
    double ep = em, xincp = inclm, argpp = argpm, nodep = nodem, mp = mm;
    double sinip = sin(inclm), cosip = cos(inclm);
    double aycof = s->aycof, xlcof = s->xlcof, con41 = s->con41, x1mth2 = s->x1mth2,
           x7thm1 = s->x7thm1;
    if (s->deep) {
        orb__sdp4_periodics(s, t, &ep, &xincp, &nodep, &argpp, &mp);
        if (xincp < 0.0) {
            xincp = -xincp;
            nodep = nodep + ORB__PI;
            argpp = argpp - ORB__PI;
        }
        if (ep < 0.0 || ep > 1.0 || isnan(ep))
            return ORB_SGP4_E_PERT_ECC;
        /* long-period coefficients with the perturbed inclination */
        sinip = sin(xincp);
        cosip = cos(xincp);
        aycof = -0.5 * ORB__J3OJ2 * sinip;
        const double den = fabs(cosip + 1.0) > 1.5e-12 ? 1.0 + cosip : 1.5e-12;
        xlcof = -0.25 * ORB__J3OJ2 * sinip * (3.0 + 5.0 * cosip) / den;
    }

    /* long-period periodics */
    const double axnl = ep * cos(argpp);
    double temp = 1.0 / (am * (1.0 - ep * ep));
    const double aynl = ep * sin(argpp) + temp * aycof;
    const double xl = mp + argpp + nodep + temp * xlcof * axnl;

    /* Kepler's equation in the equinoctial form, corrections limited to 0.95 rad */
    const double u = fmod(xl - nodep, ORB__TWOPI);
    double eo1 = u, tem5 = 9999.9, sineo1 = 0.0, coseo1 = 0.0;
    for (int ktr = 1; fabs(tem5) >= 1.0e-12 && ktr <= 10; ktr++) {
        sineo1 = sin(eo1);
        coseo1 = cos(eo1);
        tem5 = 1.0 - coseo1 * axnl - sineo1 * aynl;
        tem5 = (u - aynl * coseo1 + axnl * sineo1 - eo1) / tem5;
        if (fabs(tem5) >= 0.95)
            tem5 = tem5 > 0.0 ? 0.95 : -0.95;
        eo1 = eo1 + tem5;
    }

    /* short-period preliminary quantities */
    const double ecose = axnl * coseo1 + aynl * sineo1;
    const double esine = axnl * sineo1 - aynl * coseo1;
    const double el2 = axnl * axnl + aynl * aynl;
    const double pl = am * (1.0 - el2);
    if (pl < 0.0 || isnan(pl))
        return ORB_SGP4_E_SEMILATUS;
    const double rl = am * (1.0 - ecose);
    const double rdotl = sqrt(am) * esine / rl;
    const double rvdotl = sqrt(pl) / rl;
    const double betal = sqrt(1.0 - el2);
    temp = esine / (1.0 + betal);
    const double sinu = am / rl * (sineo1 - aynl - axnl * temp);
    const double cosu = am / rl * (coseo1 - axnl + aynl * temp);
    double su = atan2(sinu, cosu);
    const double sin2u = (cosu + cosu) * sinu;
    const double cos2u = 1.0 - 2.0 * sinu * sinu;
    temp = 1.0 / pl;
    const double temp1 = 0.5 * ORB__J2 * temp;
    const double temp2 = temp1 * temp;

    /* short-period periodics */
    if (s->deep) {
        const double cosisq = cosip * cosip;
        con41 = 3.0 * cosisq - 1.0;
        x1mth2 = 1.0 - cosisq;
        x7thm1 = 7.0 * cosisq - 1.0;
    }
    const double mrt = rl * (1.0 - 1.5 * temp2 * betal * con41) + 0.5 * temp1 * x1mth2 * cos2u;
    su = su - 0.25 * temp2 * x7thm1 * sin2u;
    const double xnode = nodep + 1.5 * temp2 * cosip * sin2u;
    const double xinc = xincp + 1.5 * temp2 * cosip * sinip * cos2u;
    const double mvt = rdotl - nm * temp1 * x1mth2 * sin2u / xke;
    const double rvdot = rvdotl + nm * temp1 * (x1mth2 * cos2u + 1.5 * con41) / xke;

    /* orientation vectors */
    const double sinsu = sin(su), cossu = cos(su);
    const double snod = sin(xnode), cnod = cos(xnode);
    const double sini = sin(xinc), cosi = cos(xinc);
    const double xmx = -snod * cosi;
    const double xmy = cnod * cosi;
    const double ux = xmx * sinsu + cnod * cossu;
    const double uy = xmy * sinsu + snod * cossu;
    const double uz = sini * sinsu;
    const double vx = xmx * cossu - cnod * sinsu;
    const double vy = xmy * cossu - snod * sinsu;
    const double vz = sini * cossu;

    r_km[0] = (mrt * ux) * ORB__RE;
    r_km[1] = (mrt * uy) * ORB__RE;
    r_km[2] = (mrt * uz) * ORB__RE;
    v_kms[0] = (mvt * ux + rvdot * vx) * vkmpersec;
    v_kms[1] = (mvt * uy + rvdot * vy) * vkmpersec;
    v_kms[2] = (mvt * uz + rvdot * vz) * vkmpersec;

    if (mrt < 1.0)
        return ORB_SGP4_E_DECAYED;
    /* Not reached in the model's domain; |tsince| so large that the secular terms overflow would
     * otherwise hand NaN to the caller as a valid state. */
    if (!isfinite(mrt) || !isfinite(v_kms[0]) || !isfinite(v_kms[1]) || !isfinite(v_kms[2]))
        return ORB_SGP4_E_DECAYED;
    return ORB_SGP4_OK;
}

static int init_fail(orb_sgp4 *s, int code, cs_err *err, const char *detail)
{
    s->error = code;
    return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "satellite %d: sgp4 error %d (%s): %s",
                      s->el.satnum, code, orb_sgp4_strerror(code), detail);
}

int orb_sgp4_init_mode(orb_sgp4 *s, const orb_elements *el, int mode, cs_err *err)
{
    CS_ASSERT(s && el);
    CS_ASSERT(mode == ORB_SGP4_MODE_AFSPC || mode == ORB_SGP4_MODE_IMPROVED);
    memset(s, 0, sizeof *s);
    s->el = *el;
    s->mode = mode;

    const double ecc = el->ecc, incl = el->incl_rad;
    if (!(ecc >= 0.0 && ecc < 1.0))
        return init_fail(s, ORB_SGP4_E_ECC, err, "eccentricity must be in [0, 1)");
    if (!(el->n_radmin > 0.0) || !isfinite(el->n_radmin))
        return init_fail(s, ORB_SGP4_E_MEANMOTION, err, "mean motion must be > 0");
    if (!isfinite(el->jd_epoch) || !isfinite(el->bstar) || !isfinite(incl) ||
        !isfinite(el->raan_rad) || !isfinite(el->argp_rad) || !isfinite(el->mean_anom_rad))
        return init_fail(s, ORB_SGP4_E_ECC, err, "elements must be finite numbers");

    const double xke = orb__xke();
    const double x2o3 = 2.0 / 3.0;
    const double epoch = el->jd_epoch - JD_1950;

    /* initl: recover the Brouwer mean motion from the Kozai one */
    const double eccsq = ecc * ecc;
    const double omeosq = 1.0 - eccsq;
    const double rteosq = sqrt(omeosq);
    const double cosio = cos(incl);
    const double cosio2 = cosio * cosio;
    const double ak = pow(xke / el->n_radmin, x2o3);
    const double d1 = 0.75 * ORB__J2 * (3.0 * cosio2 - 1.0) / (rteosq * omeosq);
    double del = d1 / (ak * ak);
    const double adel = ak * (1.0 - del * del - del * (1.0 / 3.0 + 134.0 * del * del / 81.0));
    del = d1 / (adel * adel);
    s->no = el->n_radmin / (1.0 + del);
    const double ao = pow(xke / s->no, x2o3);
    const double sinio = sin(incl);
    const double po = ao * omeosq;
    const double con42 = 1.0 - 5.0 * cosio2;
    s->con41 = -con42 - cosio2 - cosio2;
    const double posq = po * po;
    const double rp = ao * (1.0 - ecc);
    const double gsto =
        mode == ORB_SGP4_MODE_AFSPC ? gmst_afspc(epoch) : gmst_iau82(epoch + JD_1950);

    /* sgp4init */
    const double ss = 78.0 / ORB__RE + 1.0;
    const double qzms2t = pow((120.0 - 78.0) / ORB__RE, 4);
    s->simple = rp < 220.0 / ORB__RE + 1.0;
    double sfour = ss;
    double qzms24 = qzms2t;
    const double perige = (rp - 1.0) * ORB__RE;
    /* atmosphere parameter s for perigees below 156 km */
    if (perige < 156.0) {
        sfour = perige - 78.0;
        if (perige < 98.0)
            sfour = 20.0;
        qzms24 = pow((120.0 - sfour) / ORB__RE, 4);
        sfour = sfour / ORB__RE + 1.0;
    }
    const double pinvsq = 1.0 / posq;
    const double tsi = 1.0 / (ao - sfour);
    s->eta = ao * ecc * tsi;
    const double etasq = s->eta * s->eta;
    const double eeta = ecc * s->eta;
    const double psisq = fabs(1.0 - etasq);
    const double coef = qzms24 * pow(tsi, 4);
    const double coef1 = coef / pow(psisq, 3.5);
    const double cc2 =
        coef1 * s->no *
        (ao * (1.0 + 1.5 * etasq + eeta * (4.0 + etasq)) +
         0.375 * ORB__J2 * tsi / psisq * s->con41 * (8.0 + 3.0 * etasq * (8.0 + etasq)));
    s->cc1 = el->bstar * cc2;
    double cc3 = 0.0;
    if (ecc > 1.0e-4)
        cc3 = -2.0 * coef * tsi * ORB__J3OJ2 * s->no * sinio / ecc;
    s->x1mth2 = 1.0 - cosio2;
    s->cc4 =
        2.0 * s->no * coef1 * ao * omeosq *
        (s->eta * (2.0 + 0.5 * etasq) + ecc * (0.5 + 2.0 * etasq) -
         ORB__J2 * tsi / (ao * psisq) *
             (-3.0 * s->con41 * (1.0 - 2.0 * eeta + etasq * (1.5 - 0.5 * eeta)) +
              0.75 * s->x1mth2 * (2.0 * etasq - eeta * (1.0 + etasq)) * cos(2.0 * el->argp_rad)));
    s->cc5 = 2.0 * coef1 * ao * omeosq * (1.0 + 2.75 * (etasq + eeta) + eeta * etasq);
    const double cosio4 = cosio2 * cosio2;
    const double temp1 = 1.5 * ORB__J2 * pinvsq * s->no;
    const double temp2 = 0.5 * temp1 * ORB__J2 * pinvsq;
    const double temp3 = -0.46875 * ORB__J4 * pinvsq * pinvsq * s->no;
    s->mdot = s->no + 0.5 * temp1 * rteosq * s->con41 +
              0.0625 * temp2 * rteosq * (13.0 - 78.0 * cosio2 + 137.0 * cosio4);
    s->argpdot = -0.5 * temp1 * con42 + 0.0625 * temp2 * (7.0 - 114.0 * cosio2 + 395.0 * cosio4) +
                 temp3 * (3.0 - 36.0 * cosio2 + 49.0 * cosio4);
    const double xhdot1 = -temp1 * cosio;
    s->nodedot =
        xhdot1 + (0.5 * temp2 * (4.0 - 19.0 * cosio2) + 2.0 * temp3 * (3.0 - 7.0 * cosio2)) * cosio;
    s->omgcof = el->bstar * cc3 * cos(el->argp_rad);
    s->xmcof = 0.0;
    if (ecc > 1.0e-4)
        s->xmcof = -x2o3 * coef * el->bstar / eeta;
    s->nodecf = 3.5 * omeosq * xhdot1 * s->cc1;
    s->t2cof = 1.5 * s->cc1;
    /* guard the division for inclinations of 180 deg */
    const double den = fabs(cosio + 1.0) > 1.5e-12 ? 1.0 + cosio : 1.5e-12;
    s->xlcof = -0.25 * ORB__J3OJ2 * sinio * (3.0 + 5.0 * cosio) / den;
    s->aycof = -0.5 * ORB__J3OJ2 * sinio;
    s->delmo = pow(1.0 + s->eta * cos(el->mean_anom_rad), 3);
    s->sinmao = sin(el->mean_anom_rad);
    s->x7thm1 = 7.0 * cosio2 - 1.0;

    s->am_no = pow(xke / s->no, x2o3);
    s->nm_no = xke / pow(s->am_no * 1.0 * 1.0, 1.5);

    if (ORB__TWOPI / s->no >= 225.0) {
        s->deep = 1;
        s->simple = 1;
        s->ds.gsto = gsto;
        orb__sdp4_init(s, epoch);
    }

    if (!s->simple) {
        const double cc1sq = s->cc1 * s->cc1;
        s->d2 = 4.0 * ao * tsi * cc1sq;
        const double temp = s->d2 * tsi * s->cc1 / 3.0;
        s->d3 = (17.0 * ao + sfour) * temp;
        s->d4 = 0.5 * temp * ao * tsi * (221.0 * ao + 31.0 * sfour) * s->cc1;
        s->t3cof = s->d2 + 2.0 * cc1sq;
        s->t4cof = 0.25 * (3.0 * s->d3 + s->cc1 * (12.0 * s->d2 + 10.0 * cc1sq));
        s->t5cof = 0.2 * (3.0 * s->d4 + 12.0 * s->cc1 * s->d3 + 6.0 * s->d2 * s->d2 +
                          15.0 * cc1sq * (2.0 * s->d2 + cc1sq));
    }

    double r[3], v[3];
    const int rc = sgp4_eval(s, 0.0, r, v);
    if (rc != ORB_SGP4_OK)
        return init_fail(s, rc, err, "the elements cannot be propagated at their epoch");
    return 0;
}

int orb_sgp4_init(orb_sgp4 *s, const orb_elements *el, cs_err *err)
{
    return orb_sgp4_init_mode(s, el, ORB_SGP4_MODE_IMPROVED, err);
}

int orb_sgp4_propagate(const orb_sgp4 *s, double tsince_min, double r_km[3], double v_kms[3])
{
    CS_ASSERT(s && r_km && v_kms);
    if (s->error)
        return s->error;
    if (!isfinite(tsince_min))
        return ORB_SGP4_E_DECAYED;
    return sgp4_eval(s, tsince_min, r_km, v_kms);
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
