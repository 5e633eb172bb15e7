import {
  describeUnavailable,
  machineLookups,
  sandboxAvailability,
  sandboxAvailabilityHere,
  type AvailabilityLookups,
} from './availability';

function lookups(overrides: Partial<AvailabilityLookups> & { absent?: string[] } = {}): AvailabilityLookups {
  const { absent = [], ...rest } = overrides;
  return {
    platform: 'linux',
    onPath: (command: string) => !absent.includes(command),
    namespacesProblem: () => null,
    libraryResolvable: () => true,
    ...rest,
  };
}

describe('sandboxAvailability', () => {
  it('is available on Linux with bubblewrap, socat, ripgrep, namespaces and the library', () => {
    expect(sandboxAvailability(lookups())).toEqual({ available: true, platform: 'linux', missing: [], install: undefined });
  });

  it('names each missing tool and the apt-get line that installs them', () => {
    const availability = sandboxAvailability(lookups({ absent: ['bwrap', 'rg'] }));
    expect(availability.available).toBe(false);
    expect(availability.missing).toEqual(['bubblewrap (bwrap) on PATH', 'ripgrep (rg) on PATH']);
    expect(availability.install).toMatch(/^apt-get install -y bubblewrap socat ripgrep/);
    expect(describeUnavailable(availability)).toBe(
      'The sandbox cannot run here: missing bubblewrap (bwrap) on PATH; ripgrep (rg) on PATH. ' +
        `Install it with: ${availability.install}`,
    );
  });

  it('says why user namespaces are not usable, and the Ubuntu setting', () => {
    const availability = sandboxAvailability(lookups({ namespacesProblem: () => 'bwrap: setting up uid map: Permission denied' }));
    expect(availability.available).toBe(false);
    expect(availability.missing[0]).toContain('user namespaces for bubblewrap (bwrap: setting up uid map: Permission denied)');
    expect(availability.missing[0]).toContain('kernel.apparmor_restrict_unprivileged_userns=0');
  });

  it('does not try namespaces while bubblewrap is missing', () => {
    const namespacesProblem = jest.fn(() => null);
    sandboxAvailability(lookups({ absent: ['socat'], namespacesProblem }));
    expect(namespacesProblem).not.toHaveBeenCalled();
  });

  it('needs only ripgrep on macOS, installed with brew', () => {
    expect(sandboxAvailability(lookups({ platform: 'darwin', absent: ['bwrap', 'socat'] })).available).toBe(true);
    const availability = sandboxAvailability(lookups({ platform: 'darwin', absent: ['rg'] }));
    expect(availability).toMatchObject({ available: false, missing: ['ripgrep (rg) on PATH'], install: 'brew install ripgrep' });
  });

  it('is not available on Windows, and says so', () => {
    const availability = sandboxAvailability(lookups({ platform: 'win32' }));
    expect(availability.missing).toEqual(["a supported OS: fanout's sandbox runs on Linux and macOS, not win32"]);
    expect(availability.install).toBeUndefined();
  });

  it('names the library when it cannot be loaded', () => {
    const availability = sandboxAvailability(lookups({ libraryResolvable: () => false }));
    expect(availability.missing).toEqual(['the @anthropic-ai/sandbox-runtime package (a dependency of fanout: reinstall fanout)']);
  });

  it('finds nothing on an empty PATH', () => {
    expect(machineLookups({ PATH: '' }).onPath('sh')).toBe(false);
    expect(machineLookups({ PATH: '/bin:/usr/bin' }).onPath('sh')).toBe(true);
  });

  it('is looked up once per process', () => {
    expect(sandboxAvailabilityHere()).toBe(sandboxAvailabilityHere());
  });
});
