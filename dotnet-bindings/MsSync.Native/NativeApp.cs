using System;
using System.Runtime.InteropServices;

namespace MsSync.Native
{
    /// <summary>The application-layer functions of mssync.h (mss_service_*, mss_signin_*, mss_setup_*, ...).</summary>
    internal static partial class Native
    {
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_service_get(EngineHandle engine, byte[] actor, UIntPtr actorLen,
            ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_service_set(EngineHandle engine, byte[] actor, UIntPtr actorLen, byte[] change,
            UIntPtr changeLen, ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_service_consent_url(EngineHandle engine, byte[] actor, UIntPtr actorLen,
            ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_service_complete_consent(EngineHandle engine, byte[] actor, UIntPtr actorLen,
            byte[] state, UIntPtr stateLen, byte[] adminConsent, UIntPtr adminConsentLen, byte[] tenant, UIntPtr tenantLen,
            byte[] error, UIntPtr errorLen, byte[] errorDescription, UIntPtr errorDescriptionLen, out ErrorHandle errorOut);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_service_connect(EngineHandle engine, byte[] actor, UIntPtr actorLen, byte[] mailbox,
            UIntPtr mailboxLen, ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_service_give_permissions(EngineHandle engine, byte[] actor, UIntPtr actorLen,
            ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_service_grant_domain(EngineHandle engine, byte[] actor, UIntPtr actorLen,
            byte[] domain, UIntPtr domainLen, ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_service_revoke_domain(EngineHandle engine, byte[] actor, UIntPtr actorLen,
            byte[] domain, UIntPtr domainLen, ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_signin_begin(EngineHandle engine, byte[] loginHint, UIntPtr loginHintLen,
            byte[] binding, UIntPtr bindingLen, ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_signin_complete(EngineHandle engine, byte[] state, UIntPtr stateLen, byte[] code,
            UIntPtr codeLen, byte[] binding, UIntPtr bindingLen, ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_signin_fail(EngineHandle engine, byte[] state, UIntPtr stateLen, byte[] error,
            UIntPtr errorLen, byte[] description, UIntPtr descriptionLen, out ErrorHandle outError);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_session_check(EngineHandle engine, byte[] provider, UIntPtr providerLen,
            out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_setup_get(EngineHandle engine, byte[] user, UIntPtr userLen, ref MssBuffer output,
            out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_setup_options(EngineHandle engine, byte[] user, UIntPtr userLen,
            ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_setup_set_company(EngineHandle engine, byte[] user, UIntPtr userLen, byte[] company,
            UIntPtr companyLen, byte[] location, UIntPtr locationLen, ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_setup_change(EngineHandle engine, byte[] user, UIntPtr userLen, byte[] change,
            UIntPtr changeLen, ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_setup_set_job(EngineHandle engine, byte[] user, UIntPtr userLen, byte[] job,
            UIntPtr jobLen, byte enabled, ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_setup_full_refresh(EngineHandle engine, byte[] user, UIntPtr userLen, byte[] job,
            UIntPtr jobLen, ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_home_get(EngineHandle engine, byte[] user, UIntPtr userLen, ref MssBuffer output,
            out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_user_api(EngineHandle engine, byte[] user, UIntPtr userLen, byte[] operation,
            UIntPtr operationLen, byte[] request, UIntPtr requestLen, ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_jobs_due(EngineHandle engine, ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_notification_receive(EngineHandle engine, byte[] request, UIntPtr requestLen,
            ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_job_run(EngineHandle engine, byte[] user, UIntPtr userLen, byte[] job,
            UIntPtr jobLen, byte dryRun, ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_job_run_due(EngineHandle engine, byte[] dueJob, UIntPtr dueJobLen,
            ref MssBuffer output, out ErrorHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mss_events_poll(EngineHandle engine, uint max, ref MssBuffer output,
            out ErrorHandle error);
    }
}
