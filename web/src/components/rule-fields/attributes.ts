import { CANONICAL_FIELDS } from '../../hr-forms.ts';
import { humanize } from '../../schema-form.ts';
export interface AttributeChoice {
  value: string;
  label: string;
}

export interface AttributeSection {
  label: string;
  choices: AttributeChoice[];
}

/** The choice that reveals a text input for any other attribute by name. */
export const OTHER = '__other__';

/**
 * Profile attributes SCIM (core and enterprise extension, src/modules/scim/service.ts), SSO and
 * imports (`employee_id`, `department`, `title`) write.
 */
const PROFILE_FIELDS = [
  'department',
  'title',
  'division',
  'organization',
  'costCenter',
  'employeeNumber',
  'employee_id',
  'userType',
  'locale',
];

/**
 * What a condition row can test, by section. Custom attributes: those the HR mappings write
 * (`hr.custom.<name>`) and those the SSO connections' mappings write (top-level profile keys).
 */
export function attributeSections(
  customAttributes: readonly string[],
  ssoAttributes: readonly string[] = [],
): AttributeSection[] {
  const sections: AttributeSection[] = [
    {
      label: 'Membership',
      choices: [
        { value: 'group', label: 'Groups' },
        { value: 'role', label: 'Roles' },
        { value: 'source', label: 'Source (how they arrived)' },
        { value: 'always', label: 'Everyone' },
      ],
    },
    {
      label: 'User',
      choices: [
        { value: 'email', label: 'Email' },
        { value: 'givenName', label: 'First name' },
        { value: 'familyName', label: 'Last name' },
      ],
    },
    {
      label: 'Profile (SSO, SCIM, imports)',
      choices: PROFILE_FIELDS.map((field) => ({
        value: field,
        label: field === 'employee_id' ? 'Employee id (SSO, imports)' : humanize(field),
      })),
    },
    {
      label: 'HR (from HR connectors)',
      choices: CANONICAL_FIELDS.map((field) => ({ value: `hr.${field}`, label: `HR: ${humanize(field)}` })),
    },
  ];
  if (customAttributes.length)
    sections.push({
      label: 'Custom attributes (HR mappings)',
      choices: customAttributes.map((name) => ({ value: `hr.custom.${name}`, label: `Custom: ${name}` })),
    });
  const sso = ssoAttributes.filter((name) => !PROFILE_FIELDS.includes(name));
  if (sso.length)
    sections.push({
      label: 'Custom attributes (SSO mappings)',
      choices: sso.map((name) => ({ value: name, label: `SSO: ${name}` })),
    });
  return sections;
}

export function labelOf(sections: AttributeSection[], subject: string): string {
  for (const section of sections) {
    const found = section.choices.find((choice) => choice.value === subject);
    if (found) return found.label;
  }
  return subject || 'no attribute';
}

/** A list of values as removable chips; Enter (or leaving the field) adds what is typed. */
