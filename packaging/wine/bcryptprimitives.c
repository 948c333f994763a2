/*
 * packaging/wine/bcryptprimitives.c: a test-only stand-in for Windows'
 * bcryptprimitives.dll, so that packaging/ci.sh can run the installed
 * Switchboard.exe under Debian 12's Wine 8.0. It is never shipped: ci.sh
 * builds it with MinGW-w64 and copies it into the system32 of its throwaway
 * Wine prefix, and only when that Wine has no bcryptprimitives.dll of its own.
 *
 * Wine 8.0 lacks two things that programs built with Go 1.24 or later need,
 * and that every Windows Go supports has:
 *
 *   - bcryptprimitives.dll!ProcessPrng, the Go runtime's source of random
 *     bytes: without it the exe dies at once with "fatal error:
 *     bcryptprimitives.dll not found". Here it is BCryptGenRandom with the
 *     system's preferred generator.
 *
 *   - WSAIoctl(SIO_UDP_NETRESET), which Go's net package calls on every UDP
 *     socket: Wine 8.0 answers WSAEOPNOTSUPP ("wsaioctl: winapi error
 *     #10045") and so no UDP socket can be opened. The Go runtime loads this
 *     DLL before anything else, so its DllMain points the exe's import of
 *     GetProcAddress at a wrapper that, asked for ws2_32's WSAIoctl, hands
 *     out a WSAIoctl that takes SIO_UDP_NETRESET as a no-op (as Wine already
 *     does SIO_UDP_CONNRESET) and passes every other call on unchanged.
 */
#include <winsock2.h>
#include <windows.h>
#include <bcrypt.h>
#include <string.h>

#ifndef SIO_UDP_NETRESET
#define SIO_UDP_NETRESET _WSAIOW(IOC_VENDOR, 15)
#endif

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

typedef int(WSAAPI *wsaioctl_fn)(SOCKET, DWORD, LPVOID, DWORD, LPVOID, DWORD, LPDWORD,
				 LPWSAOVERLAPPED, LPWSAOVERLAPPED_COMPLETION_ROUTINE);
typedef FARPROC(WINAPI *getprocaddress_fn)(HMODULE, LPCSTR);

static wsaioctl_fn real_wsaioctl;
static getprocaddress_fn real_getprocaddress;

static int WSAAPI wsaioctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen, LPVOID out, DWORD outlen,
			   LPDWORD got, LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE done)
{
	if (code == SIO_UDP_NETRESET && ov == NULL && done == NULL) {
		if (got != NULL)
			*got = 0;
		return 0;
	}
	return real_wsaioctl(s, code, in, inlen, out, outlen, got, ov, done);
}

static FARPROC WINAPI getprocaddress(HMODULE mod, LPCSTR name)
{
	FARPROC p = real_getprocaddress(mod, name);
	if (p != NULL && HIWORD((ULONG_PTR)name) != 0 && strcmp(name, "WSAIoctl") == 0 &&
	    mod == GetModuleHandleA("ws2_32.dll")) {
		real_wsaioctl = (wsaioctl_fn)(void *)p;
		return (FARPROC)(void *)wsaioctl;
	}
	return p;
}

/* redirect_getprocaddress replaces kernel32's GetProcAddress in the import
   table of the exe. */
static void redirect_getprocaddress(void)
{
	BYTE *base = (BYTE *)GetModuleHandleA(NULL);
	IMAGE_NT_HEADERS *nt = (IMAGE_NT_HEADERS *)(base + ((IMAGE_DOS_HEADER *)base)->e_lfanew);
	IMAGE_DATA_DIRECTORY dir = nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_IMPORT];
	IMAGE_IMPORT_DESCRIPTOR *imp;
	FARPROC target;

	real_getprocaddress = (getprocaddress_fn)(void *)GetProcAddress(GetModuleHandleA("kernel32.dll"), "GetProcAddress");
	target = (FARPROC)(void *)real_getprocaddress;
	if (dir.VirtualAddress == 0 || target == NULL)
		return;
	for (imp = (IMAGE_IMPORT_DESCRIPTOR *)(base + dir.VirtualAddress); imp->Name != 0; imp++) {
		IMAGE_THUNK_DATA *iat = (IMAGE_THUNK_DATA *)(base + imp->FirstThunk);
		IMAGE_THUNK_DATA *names = imp->OriginalFirstThunk ? (IMAGE_THUNK_DATA *)(base + imp->OriginalFirstThunk) : NULL;
		if (_stricmp((char *)(base + imp->Name), "kernel32.dll") != 0)
			continue;
		for (; iat->u1.Function != 0; iat++, names = names ? names + 1 : NULL) {
			int named = names != NULL && !IMAGE_SNAP_BY_ORDINAL(names->u1.Ordinal) &&
				    strcmp((char *)((IMAGE_IMPORT_BY_NAME *)(base + names->u1.AddressOfData))->Name,
					   "GetProcAddress") == 0;
			DWORD old;
			if (!named && (FARPROC)iat->u1.Function != target)
				continue;
			if (VirtualProtect(&iat->u1.Function, sizeof(iat->u1.Function), PAGE_READWRITE, &old)) {
				iat->u1.Function = (ULONG_PTR)getprocaddress;
				VirtualProtect(&iat->u1.Function, sizeof(iat->u1.Function), old, &old);
			}
		}
	}
}

BOOL WINAPI DllMain(HINSTANCE dll, DWORD reason, LPVOID reserved)
{
	(void)dll;
	(void)reserved;
	if (reason == DLL_PROCESS_ATTACH)
		redirect_getprocaddress();
	return TRUE;
}
