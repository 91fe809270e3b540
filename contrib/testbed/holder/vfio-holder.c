// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-holder: holds a mediated device open the way QEMU does, for mdev-reconciler's test bed.
 *
 *   vfio-holder <uuid> <iommu-group-number>
 *
 * Opens /dev/vfio/vfio, then /dev/vfio/<group>, attaches the group to the container, selects the type 1
 * IOMMU, and gets the device's file descriptor by UUID. Prints "holding <uuid>" and waits for SIGTERM.
 * While it holds the device, writing 1 to the device's remove file blocks in the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "vfio-holder: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	char path[64];
	int container, group, device;
	struct vfio_group_status status = { .argsz = sizeof(status) };
	sigset_t signals;
	int received;

	if (argc != 3) {
		fprintf(stderr, "usage: vfio-holder <uuid> <iommu-group>\n");
		return 2;
	}
	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		return fail("open /dev/vfio/vfio");
	snprintf(path, sizeof(path), "/dev/vfio/%s", argv[2]);
	group = open(path, O_RDWR);
	if (group < 0)
		return fail(path);
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) < 0)
		return fail("VFIO_GROUP_GET_STATUS");
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = EBUSY;
		return fail("the group is not viable");
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
		return fail("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
		return fail("VFIO_SET_IOMMU");
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[1]);
	if (device < 0)
		return fail("VFIO_GROUP_GET_DEVICE_FD");
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigprocmask(SIG_BLOCK, &signals, NULL);
	printf("holding %s\n", argv[1]);
	fflush(stdout);
	sigwait(&signals, &received);
	close(device);
	close(group);
	close(container);
	return 0;
}
