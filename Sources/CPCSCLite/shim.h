#ifndef CCCDKIT_CPCSCLITE_H
#define CCCDKIT_CPCSCLITE_H
#include <PCSC/winscard.h>
#include <PCSC/pcsclite.h>
#include <PCSC/wintypes.h>

/* SCARD_PCI_T0 / SCARD_PCI_T1 are macros over globals: forwarders Swift can call. */
static inline const SCARD_IO_REQUEST *cccd_pci_t0(void) { return SCARD_PCI_T0; }
static inline const SCARD_IO_REQUEST *cccd_pci_t1(void) { return SCARD_PCI_T1; }
static inline const SCARD_IO_REQUEST *cccd_pci_raw(void) { return SCARD_PCI_RAW; }
#endif
